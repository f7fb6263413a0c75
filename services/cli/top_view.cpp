#include "top_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dobj/metrics/histogram.hpp"
#include "table.hpp"

namespace dobj::cli {
namespace {

using metrics::Sample;
constexpr double kP99 = 0.99;

// Series identity: name and labels.
std::string series_key(const Sample& s) {
  std::string key = s.name;
  for (const auto& [k, v] : s.labels) key += '\0' + k + '=' + v;
  return key;
}

// after - before per series (a restarted process counts from zero: its new value).
std::vector<Sample> deltas(const std::vector<Sample>& before, const std::vector<Sample>& after) {
  std::map<std::string, double> start;
  for (const auto& s : before) start[series_key(s)] = s.value;
  std::vector<Sample> out;
  for (const auto& s : after) {
    auto it = start.find(series_key(s));
    Sample d = s;
    if (it != start.end() && s.value >= it->second) d.value = s.value - it->second;
    out.push_back(std::move(d));
  }
  return out;
}

std::string label(const Sample& s, const char* key) {
  auto it = s.labels.find(key);
  return it == s.labels.end() ? "" : it->second;
}

struct Accumulator {
  double requests = 0, errors = 0;
  metrics::Buckets turn_buckets;
  metrics::Buckets reply_buckets;

  // Sums `d` when it is a series shown per method too; false for any other (the gauges).
  bool add(const Sample& d) {
    if (d.name == "dobj_requests_total") {
      requests += d.value;
      if (label(d, "status") != "ok") errors += d.value;
    } else if (d.name == "dobj_turn_seconds_bucket") {
      metrics::add_bucket(turn_buckets, d);
    } else if (d.name == "dobj_reply_seconds_bucket") {
      metrics::add_bucket(reply_buckets, d);
    } else {
      return false;
    }
    return true;
  }
  TopRow row(std::string name, double interval_s) const {
    // The bound of the bucket holding the 99th percentile: what the scrape can state for sure.
    return TopRow{std::move(name), requests / interval_s, errors / interval_s,
                  metrics::bucket_bound(turn_buckets, kP99),
                  metrics::bucket_bound(reply_buckets, kP99)};
  }
};

std::string seconds_text(double s) {
  if (s < 0) return "-";
  if (std::isinf(s)) return "> 10 s";
  return s < 1 ? fmt::format("≤ {:g} ms", s * 1000) : fmt::format("≤ {:g} s", s);
}

Value seconds_json(double s) {
  return s < 0 || std::isinf(s) ? Value() : Value(s);
}

Value row_json(const TopRow& r) {
  return {{"name", r.name},
          {"requests_per_s", r.requests_per_s},
          {"errors_per_s", r.errors_per_s},
          {"p99_turn_s", seconds_json(r.p99_turn_s)},
          {"p99_reply_s", seconds_json(r.p99_reply_s)},
          {"queue", r.queue},
          {"objects", r.objects},
          {"partitions", r.partitions}};
}

}  // namespace

TopView compute_top(const std::vector<WorkerScrapes>& scrapes, double interval_s) {
  TopView view;
  std::map<std::string, Accumulator> by_method;
  for (const auto& w : scrapes) {
    if (w.after.empty()) {
      view.unreachable.push_back(w.name);
      continue;
    }
    Accumulator acc;
    for (const auto& d : deltas(w.before, w.after)) {
      if (acc.add(d)) {
        auto c = label(d, "class");
        by_method[c.empty() ? "(refused before routing)" : c + "." + label(d, "method")].add(d);
      }
    }
    auto row = acc.row(w.name, interval_s);
    for (const auto& s : w.after) {
      if (s.name == "dobj_queue_depth") row.queue += s.value;
      if (s.name == "dobj_active_objects") row.objects = s.value;
      if (s.name == "dobj_partitions_owned") row.partitions = s.value;
    }
    view.workers.push_back(std::move(row));
  }
  for (const auto& [name, acc] : by_method) view.methods.push_back(acc.row(name, interval_s));
  std::stable_sort(view.methods.begin(), view.methods.end(), [](const TopRow& a, const TopRow& b) {
    return a.requests_per_s > b.requests_per_s;
  });
  return view;
}

Value TopView::to_json() const {
  Value out = {
      {"workers", Value::array()}, {"methods", Value::array()}, {"unreachable", unreachable}};
  for (const auto& r : workers) out["workers"].push_back(row_json(r));
  for (const auto& r : methods) {
    auto j = row_json(r);
    for (const char* k : {"queue", "objects", "partitions"}) j.erase(k);
    out["methods"].push_back(std::move(j));
  }
  return out;
}

void TopView::print() const {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : workers) {
    rows.push_back({r.name, fmt::format("{:.1f}", r.requests_per_s),
                    fmt::format("{:.1f}", r.errors_per_s), seconds_text(r.p99_turn_s),
                    seconds_text(r.p99_reply_s), fmt::format("{:g}", r.queue),
                    fmt::format("{:g}", r.objects), fmt::format("{:g}", r.partitions)});
  }
  for (const auto& name : unreachable) {
    rows.push_back({name, "unreachable", "", "", "", "", "", ""});
  }
  print_table(
      {"WORKER", "REQ/S", "ERR/S", "P99 TURN", "P99 IN WORKER", "QUEUE", "OBJECTS", "PARTITIONS"},
      rows);
  fmt::print("\n");
  rows.clear();
  for (const auto& r : methods) {
    rows.push_back({r.name, fmt::format("{:.1f}", r.requests_per_s),
                    fmt::format("{:.1f}", r.errors_per_s), seconds_text(r.p99_turn_s),
                    seconds_text(r.p99_reply_s)});
  }
  print_table({"CLASS.METHOD", "REQ/S", "ERR/S", "P99 TURN", "P99 IN WORKER"}, rows);
}

}  // namespace dobj::cli
