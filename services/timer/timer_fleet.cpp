#include "timer_fleet.hpp"

#include <spdlog/spdlog.h>

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
  for (auto& [place, timer] : timers_) timer->stop();
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
    if (timers_.count(name)) continue;
    auto c = config_;
    c.database_url = url;
    if (!first_) c.metrics_addr = "off";
    if (url != config_.database_url) {
      auto shard = store::connect(url);
      store::MigrationRunner(*shard).require_current();
    }
    auto timer = std::make_unique<AlarmTimer>(c, Clock::system());
    timer->start();
    first_ = false;
    if (name != "control" || !timers_.empty()) log_->info("firing the alarms stored in {}", name);
    timers_.emplace(name, std::move(timer));
  }
}

}  // namespace dobj
