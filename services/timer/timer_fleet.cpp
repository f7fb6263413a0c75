#include "timer_fleet.hpp"

#include <spdlog/spdlog.h>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/storage_shards.hpp"

namespace dobj {

TimerFleet::TimerFleet(TimerConfig config) : config_(std::move(config)), log_(logger("timer")) {}

TimerFleet::~TimerFleet() {
  stop();
}

void TimerFleet::start() {
  refresh();
  watch_ = std::make_unique<PeriodicTask>("shard-map", config_.map_poll, [this] { refresh(); });
  watch_->start();
}

void TimerFleet::stop() {
  if (watch_) watch_->stop();
  std::lock_guard lock(mutex_);
  for (auto& [place, loop] : timers_) loop.timer->stop();
}

std::size_t TimerFleet::loops() const {
  std::lock_guard lock(mutex_);
  return timers_.size();
}

void TimerFleet::refresh() {
  auto db = store::connect(config_.database_url);
  store::MigrationRunner(*db).require_current();
  auto map = store::StorageShardMap::load(*db);
  std::vector<std::pair<std::string, std::string>> places;  // name, URL
  if (map.control_partitions(store::PartitionTable(*db).partition_count()) > 0) {
    places.emplace_back("control", config_.database_url);
  }
  for (const auto& shard : map.databases()) places.emplace_back(shard.name, shard.url);
  std::lock_guard lock(mutex_);
  for (const auto& [name, url] : places) {
    if (auto it = timers_.find(name); it != timers_.end()) {
      if (it->second.url == url) continue;
      log_->info("storage shard {} is reached by another URL now: its loop starts again there",
                 name);
      it->second.timer->stop();  // frees its claims (and its metrics port) for the new loop
      first_ = first_ || it->second.serves_metrics;
      timers_.erase(it);
    }
    auto c = config_;
    c.database_url = url;
    if (!first_) c.metrics_addr = "off";
    auto timer = std::make_unique<AlarmTimer>(c, Clock::system());
    try {
      if (url != config_.database_url) {
        auto shard = store::connect(url);
        store::MigrationRunner(*shard).require_current();
      }
      timer->start();
    } catch (const Error& e) {
      // One database down must not keep the others' alarms from firing: this place gets its loop
      // at a later read of the map.
      log_->error("the loop for the alarms stored in {} cannot start ({}); trying again in {} ms",
                  name, e.what(), config_.map_poll.count());
      continue;
    }
    if (name != "control" || !timers_.empty()) log_->info("firing the alarms stored in {}", name);
    timers_.emplace(name, Loop{url, std::move(timer), first_});
    first_ = false;
  }
}

}  // namespace dobj
