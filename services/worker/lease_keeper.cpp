#include "lease_keeper.hpp"

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/store/database.hpp"

namespace dobj {

LeaseKeeper::LeaseKeeper(std::string database_url, store::WorkerId id, Config config, Clock& clock,
                         Callbacks callbacks)
    : database_url_(std::move(database_url)),
      id_(id),
      config_(config),
      clock_(clock),
      callbacks_(std::move(callbacks)),
      log_(logger("lease")) {}

LeaseKeeper::~LeaseKeeper() {
  stop();
}

void LeaseKeeper::start(Clock::TimePoint renewed_at) {
  // A tenth of the TTL covers clock-rate differences between this host and the database.
  valid_until_ = (renewed_at + config_.ttl - config_.ttl / 10).time_since_epoch().count();
  step();
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, config_.interval, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      step();
      lock.lock();
    }
  });
}

void LeaseKeeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaseKeeper::valid() const {
  return !lost_ && clock_.now().time_since_epoch().count() < valid_until_.load();
}

void LeaseKeeper::step() {
  if (lost_) return;
  auto sent_at = clock_.now();
  try {
    if (!conn_ || !conn_->is_open()) conn_ = store::connect(database_url_);
    store::WorkerRegistry registry(*conn_);
    if (!registry.renew(id_, config_.ttl)) {
      log_->critical("worker {}: lease expired before it could be renewed; self-fencing", id_);
      lost_ = true;
      valid_until_ = 0;
      callbacks_.lost();
      return;
    }
    valid_until_ = (sent_at + config_.ttl - config_.ttl / 10).time_since_epoch().count();
    auto owned = store::PartitionTable(*conn_).claim_fair_share(id_);
    callbacks_.partitions(owned);
  } catch (const Error& e) {
    // The lease decays by itself; replies stop when valid() turns false.
    log_->warn("worker {}: heartbeat failed: {}", id_, e.what());
  }
}

}  // namespace dobj
