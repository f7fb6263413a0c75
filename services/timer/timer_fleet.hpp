#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "alarm_timer.hpp"
#include "dobj/core/periodic_task.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// dobj-timer's loops, one per place alarms live: the control database (while some partitions
// keep their objects there) and every storage shard of the map. The map is read again every
// TimerConfig::map_poll, so a shard added later gets its loop without a restart, and a shard
// given another URL (`dobj shards set-url`) gets a new loop on it. The first loop
// serves /metrics and /readyz. A storage database that cannot be reached gets its loop at a later
// read of the map; the others serve meanwhile. Lifecycle: start() (throws when the control
// database is not ready) → stop().
class TimerFleet {
 public:
  explicit TimerFleet(TimerConfig config);
  ~TimerFleet();
  void start();
  void stop();
  // Reads the map and starts the loops of places not served yet (the test hook).
  void refresh();
  std::size_t loops() const;

 private:
  TimerConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mutex_;
  struct Loop {
    std::string url;
    std::unique_ptr<AlarmTimer> timer;
    bool serves_metrics = false;
  };
  std::map<std::string, Loop> timers_;  // by place ("control", shard)
  bool first_ = true;                   // the next loop serves metrics
  std::unique_ptr<PeriodicTask> watch_;
};

}  // namespace dobj
