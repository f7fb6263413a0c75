#pragma once

#include <map>
#include <string>
#include <vector>

#include "dobj/core/value.hpp"
#include "dobj/metrics/scrape.hpp"

namespace dobj::cli {

// What `dobj top` shows for one interval, computed from two scrapes of each worker.
struct TopRow {
  std::string name;  // worker id (and address) or class.method
  double requests_per_s = 0;
  double errors_per_s = 0;
  double p99_turn_s = -1;   // -1: no turn in the interval
  double p99_reply_s = -1;  // in the worker, from taking a request to its reply; -1: none
  double queue = 0;
  double objects = 0;
  double partitions = 0;
};

struct TopView {
  std::vector<TopRow> workers;
  std::vector<TopRow> methods;  // class.method, busiest first
  std::vector<std::string> unreachable;

  Value to_json() const;
  void print() const;
};

// One worker's scrape at the interval's start and end (empty samples: it did not answer).
struct WorkerScrapes {
  std::string name;
  std::vector<metrics::Sample> before;
  std::vector<metrics::Sample> after;
};

TopView compute_top(const std::vector<WorkerScrapes>& scrapes, double interval_s);

}  // namespace dobj::cli
