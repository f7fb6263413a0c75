#include "timer_metrics.hpp"

#include <algorithm>

namespace dobj {

TimerMetrics::TimerMetrics(prometheus::Registry& registry)
    : fired_(prometheus::BuildCounter()
                 .Name("dobj_alarms_fired_total")
                 .Help("Alarm requests whose answer came back, by outcome: ok, no_worker (tried "
                       "again, uncounted), error (retried or buried), timeout")
                 .Register(registry)),
      by_outcome_{&fired_.Add({{"outcome", "ok"}}), &fired_.Add({{"outcome", "no_worker"}}),
                  &fired_.Add({{"outcome", "error"}}), &fired_.Add({{"outcome", "timeout"}})},
      lateness_(
          prometheus::BuildHistogram()
              .Name("dobj_alarm_lateness_seconds")
              .Help("How long after its due time an alarm was sent to its object")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                               0.25, 0.5, 1, 5, 30})),
      dead_(prometheus::BuildCounter()
                .Name("dobj_dead_alarms_total")
                .Help("Alarms moved to dobj.dead_alarms by this timer")
                .Register(registry)
                .Add({})),
      claimed_(prometheus::BuildGauge()
                   .Name("dobj_alarms_claimed")
                   .Help("Alarms this timer holds: in its wheel or sent and unanswered")
                   .Register(registry)
                   .Add({})) {}

void TimerMetrics::fired(Outcome outcome, std::size_t alarms) {
  by_outcome_[static_cast<int>(outcome)]->Increment(static_cast<double>(alarms));
}

void TimerMetrics::lateness(std::chrono::microseconds late) {
  lateness_.Observe(
      std::chrono::duration<double>(std::max(late, std::chrono::microseconds(0))).count());
}

}  // namespace dobj
