#include "shard_url_watch.hpp"

#include <spdlog/spdlog.h>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/core/redact.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/store/storage_shards.hpp"

namespace dobj {

ShardUrlWatch::ShardUrlWatch(std::string control_url, std::string shard,
                             store::ConnectionUrl storage_url, std::chrono::milliseconds poll)
    : control_(std::move(control_url)),
      shard_(std::move(shard)),
      storage_url_(std::move(storage_url)),
      log_(logger("shard-map")),
      task_("shard-map", poll, [this] { look(); }) {}

ShardUrlWatch::~ShardUrlWatch() {
  stop();
}

void ShardUrlWatch::look() {
  // A failure reconnects next time; PeriodicTask logs it.
  auto map = control_.use([](pqxx::connection& c) { return store::StorageShardMap::load(c); });
  const auto* shard = map.find(shard_);
  if (!shard || shard->url == storage_url_.get()) return;
  try {
    auto conn = store::connect(shard->url);
    store::MigrationRunner(*conn).require_current();
    store::check_storage_database(*conn, shard_);
  } catch (const Error& e) {
    if (refused_ == shard->url) return;  // said already; tried again each poll
    refused_ = shard->url;
    log_->error(
        "storage shard {} has a new URL in the map ({}), which this worker refuses: {}; it "
        "stays on the one it has",
        shard_, redact(shard->url), e.what());
    return;
  }
  refused_.clear();
  storage_url_.set(shard->url);
  log_->info("storage shard {} is reached by a new URL ({}): the worker's connections move to it",
             shard_, redact(shard->url));
}

}  // namespace dobj
