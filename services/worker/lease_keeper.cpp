#include "lease_keeper.hpp"

#include <algorithm>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/object_store.hpp"

namespace dobj {

LeaseKeeper::LeaseKeeper(std::string database_url, store::WorkerInfo info, Config config,
                         Clock& clock, Callbacks callbacks)
    : database_url_(std::move(database_url)),
      info_(std::move(info)),
      config_(config),
      clock_(clock),
      callbacks_(std::move(callbacks)),
      log_(logger("lease")) {}

LeaseKeeper::~LeaseKeeper() {
  stop();
}

void LeaseKeeper::adopt(store::WorkerId id, Clock::TimePoint renewed_at) {
  // A tenth of the TTL covers clock-rate differences between this host and the database.
  valid_until_ = (renewed_at + config_.ttl - config_.ttl / 10).time_since_epoch().count();
  id_ = id;
}

void LeaseKeeper::start(store::WorkerId id, Clock::TimePoint renewed_at) {
  adopt(id, renewed_at);
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

bool LeaseKeeper::valid(store::WorkerId id) const {
  return id != 0 && id == id_.load() &&
         clock_.now().time_since_epoch().count() < valid_until_.load();
}

void LeaseKeeper::lose() {
  log_->critical("worker {}: lease ran out before it could be renewed; self-fencing", id_.load());
  valid_until_ = 0;
  id_ = 0;
  ++losses_;
  callbacks_.lost();
}

void LeaseKeeper::rejoin() {
  auto sent_at = clock_.now();
  auto id = store::WorkerRegistry(*conn_).register_worker(info_, config_.ttl);
  adopt(id, sent_at);
  log_->warn("registered anew as worker {} after losing the lease", id);
  callbacks_.joined(id);
}

void LeaseKeeper::step() {
  if (drained_) return;
  try {
    if (!conn_ || !conn_->is_open()) conn_ = store::connect(database_url_);
    if (id_ == 0) {
      rejoin();
      round(false);
      return;
    }
    auto sent_at = clock_.now();
    auto state = store::WorkerRegistry(*conn_).renew(id_, config_.ttl);
    if (state == store::LeaseState::kLost) {
      lose();
      return;
    }
    valid_until_ = (sent_at + config_.ttl - config_.ttl / 10).time_since_epoch().count();
    round(state == store::LeaseState::kDraining);
  } catch (const Error& e) {
    // The lease decays by itself; replies stop when valid() turns false.
    log_->warn("worker {}: heartbeat failed: {}", id_.load(), e.what());
    conn_.reset();
  }
}

void LeaseKeeper::round(bool draining) {
  store::PartitionTable table(*conn_);
  auto share = table.claim_fair_share(id_, draining);
  auto excess = share.excess();
  auto owned = share.owned;
  if (!excess.empty()) {
    log_->info("worker {}: handing over {} partitions (fair share {})", id_.load(), excess.size(),
               share.fair_share);
    callbacks_.handing_over(excess);
    table.release(id_, excess);
    owned.resize(owned.size() - excess.size());  // the excess is the sorted tail
  }
  callbacks_.partitions(owned);
  if (++rounds_ % kExpireEveryRounds == 0) {
    // Every worker sweeps a little: the tables stay bounded without a janitor process.
    store::expire_stored_replies(*conn_, kExpireBatch);
    table.prune_log(kHandoverHistory, kExpireBatch);
  }
  if (draining && owned.empty()) {
    log_->info("worker {}: drained", id_.load());
    drained_ = true;
    callbacks_.drained();
  }
}

}  // namespace dobj
