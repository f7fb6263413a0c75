#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>

namespace dobj {

// dobj-timer's Prometheus metrics (README "Operating dobj").
class TimerMetrics {
 public:
  enum class Outcome { kOk, kNoWorker, kError, kTimeout };

  explicit TimerMetrics(prometheus::Registry& registry);

  void fired(Outcome outcome, std::size_t alarms = 1);
  // How late an alarm went out, from its due time (0 when early: never).
  void lateness(std::chrono::microseconds late);
  void buried(std::size_t alarms) { dead_.Increment(static_cast<double>(alarms)); }
  void claimed(std::size_t alarms) { claimed_.Set(static_cast<double>(alarms)); }

 private:
  prometheus::Family<prometheus::Counter>& fired_;
  prometheus::Counter* by_outcome_[4];
  prometheus::Histogram& lateness_;
  prometheus::Counter& dead_;
  prometheus::Gauge& claimed_;
};

}  // namespace dobj
