#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dobj/testing/client_threads.hpp"

namespace dobj::testing {

// Clients without idempotency keys, as most users write them: each thread sends Counter.inc to
// objects <prefix>0..<prefix><N-1> in turn, one attempt per request, and classifies every outcome
// by what the reply promises (schemas/protocol.md):
//   applied  — `ok`;
//   refused  — an error promising "not applied" (moved, overloaded, storage_error, timeout,
//              no responders);
//   unknown  — no reply in time, or unknown_outcome.
// Then every object must end with acked ≤ value ≤ acked + unknown: a refused request that was
// applied anyway, or an acknowledged one that was lost, fails the check.
// Lifecycle: start() → ... → stop() (waits for the calls in flight).
class CounterLoad {
 public:
  struct Options {
    std::string nats_url;
    int clients = 2;
    int objects = 16;
    std::string prefix = "plain";
    std::chrono::milliseconds attempt_timeout{2000};
    std::chrono::milliseconds pause{5};  // between requests of one client: light load
  };
  // One kind of refusal of one object: how many, when (seconds since start()), one reply's text.
  struct Refusals {
    std::int64_t count = 0;
    double first = 0, last = 0;
    std::string sample;
  };
  struct Tally {
    std::int64_t acked = 0;
    std::int64_t refused = 0;
    std::int64_t unknown = 0;
    std::map<std::string, Refusals> refused_by;  // by error code
  };
  struct Results {
    std::map<std::string, Tally> objects;
    std::vector<std::string> errors;  // replies no fault explains: each one is a bug
  };

  explicit CounterLoad(Options options);
  ~CounterLoad();
  void start();
  void stop();
  std::int64_t acked() const;
  const Results& results() const { return results_; }
  // The clock of the refusals' times.
  double seconds_running() const { return threads_.seconds_running(); }
  // The objects whose final value (from `final_value`, -1 when absent = 0) breaks
  // acked ≤ value ≤ acked + unknown, one line each.
  std::vector<std::string> violations(
      const std::function<std::int64_t(const std::string&)>& final_value) const;
  // violations() with the final values read from dobj_admin.kv over one connection to
  // `database_url` (an admin's).
  std::vector<std::string> violations_in(const std::string& database_url) const;

 private:
  void run_client(int index);

  Options options_;
  mutable std::mutex mutex_;
  Results results_;
  ClientThreads threads_;  // last: the threads go before what they use
};

}  // namespace dobj::testing
