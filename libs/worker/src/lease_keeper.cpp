#include "lease_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/storage_shards.hpp"

namespace dobj {

LeaseKeeper::LeaseKeeper(std::string database_url, store::ConnectionUrl storage_url,
                         store::WorkerInfo info, Config config, Clock& clock, Callbacks callbacks)
    : conn_(database_url),
      storage_conn_(std::move(storage_url)),
      info_(std::move(info)),
      config_(config),
      clock_(clock),
      callbacks_(std::move(callbacks)),
      log_(logger("lease")),
      handovers_(std::move(database_url),
                 [this](const std::vector<int>& ps) { callbacks_.handing_over(ps); }),
      heartbeat_("lease", config.interval, [this] { step(); }),
      watchdog_("lease-watchdog", kWatchdogPoll, [this] { check_expiry(); }) {}

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
  handovers_.start();
  step();
  heartbeat_.start();
  watchdog_.start();
}

void LeaseKeeper::stop() {
  watchdog_.stop();
  heartbeat_.stop();
  handovers_.stop();
}

bool LeaseKeeper::valid(store::WorkerId id) const {
  return id != 0 && id == id_.load() &&
         clock_.now().time_since_epoch().count() < valid_until_.load();
}

void LeaseKeeper::check_expiry() {
  std::lock_guard lock(callbacks_mutex_);
  if (fenced_ || id_ == 0 || valid(id_)) return;
  log_->error("worker {}: lease ran out by the local clock; not receiving until it is renewed",
              id_.load());
  fenced_ = true;
  callbacks_.lost();
}

void LeaseKeeper::lose() {
  std::lock_guard lock(callbacks_mutex_);
  log_->critical("worker {}: lease ran out before it could be renewed; self-fencing", id_.load());
  valid_until_ = 0;
  id_ = 0;
  ++losses_;
  fenced_ = true;
  callbacks_.lost();
}

void LeaseKeeper::rejoin() {
  auto sent_at = clock_.now();
  auto id = store::WorkerRegistry(conn_.get()).register_worker(info_, config_.ttl);
  std::lock_guard lock(callbacks_mutex_);
  adopt(id, sent_at);
  fenced_ = false;
  log_->warn("registered anew as worker {} after losing the lease", id);
  callbacks_.joined(id);
}

void LeaseKeeper::step() {
  if (drained_) return;
  try {
    bool give_way = !callbacks_.may_hold();
    if (give_way != giving_way_) {
      giving_way_ = give_way;
      if (give_way) {
        log_->error("worker {}: cannot serve what it owns (NATS link down); handing it over",
                    id_.load());
      } else {
        log_->info("worker {}: can serve again; claiming its share", id_.load());
      }
    }
    if (id_ == 0) {
      rejoin();
      renew_on_shard();  // a new id: its row is new there too
      publish_availability(give_way);
      round(false, give_way);
      return;
    }
    auto sent_at = clock_.now();
    if (!renew_on_shard()) {
      // The control lease still runs: ended now, so that the others need not wait it out.
      auto gone = id_.load();
      lose();
      store::WorkerRegistry(conn_.get()).mark_stopped(gone);
      return;
    }
    auto state = store::WorkerRegistry(conn_.get()).renew(id_, config_.ttl);
    if (state == store::LeaseState::kLost) {
      lose();
      return;
    }
    valid_until_ = (sent_at + config_.ttl - config_.ttl / 10).time_since_epoch().count();
    publish_availability(give_way);
    round(state == store::LeaseState::kDraining, give_way);
  } catch (const std::exception& e) {
    // The lease decays by itself; the watchdog stops the worker when valid() turns false.
    log_->warn("worker {}: heartbeat failed: {}", id_.load(), e.what());
    conn_.reset();
    storage_conn_.reset();
  }
}

bool LeaseKeeper::renew_on_shard() {
  if (storage_conn_.url().empty()) return true;
  return store::ShardLeaseMirror(storage_conn_.get()).renew(id_, info_, config_.ttl);
}

void LeaseKeeper::mirror_on_shard(const store::PartitionShare& share) {
  if (storage_conn_.url().empty()) return;
  std::vector<store::PartitionEpoch> mine;
  for (const auto& pe : share.epochs) {
    if (!std::binary_search(share.foreign.begin(), share.foreign.end(), pe.first)) {
      mine.push_back(pe);
    }
  }
  store::ShardLeaseMirror(storage_conn_.get()).mirror_partitions(id_, mine);
}

void LeaseKeeper::publish_availability(bool give_way) {
  auto want = std::make_pair(id_.load(), !give_way);
  if (published_availability_ == want) return;
  store::WorkerRegistry(conn_.get()).set_available(want.first, want.second);
  published_availability_ = want;
}

void LeaseKeeper::round(bool draining, bool give_way) {
  store::PartitionTable table(conn_.get());
  auto share = table.claim_fair_share(id_, draining || give_way);
  auto excess = share.excess();
  auto leaving = handovers_.in_flight();
  std::vector<int> fresh;
  for (int p : excess) {
    if (leaving.insert(p).second) fresh.push_back(p);
  }
  if (!fresh.empty()) {
    log_->info("worker {}: handing over {} partitions (fair share {})", id_.load(), fresh.size(),
               share.fair_share);
    {
      std::lock_guard lock(callbacks_mutex_);
      callbacks_.leaving(fresh);
    }
    handovers_.submit(id_, fresh);
  }
  // The shard learns of the claims before the worker subscribes to them.
  mirror_on_shard(share);
  std::vector<int> owned;
  for (int p : share.owned) {
    if (!leaving.count(p)) owned.push_back(p);
  }
  {
    std::lock_guard lock(callbacks_mutex_);
    // Renewed just now, unless the round outlived the lease: then the watchdog has fenced, and
    // subscribing again waits for a round that renews in time.
    if (!valid(id_)) return;
    fenced_ = false;
    callbacks_.partitions(owned);
  }
  if (draining && share.owned.empty()) {
    log_->info("worker {}: drained", id_.load());
    drained_ = true;
    callbacks_.drained();
  }
}

}  // namespace dobj
