#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dobj/core/clock.hpp"
#include "dobj/core/periodic_task.hpp"
#include "dobj/store/lazy_connection.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/worker_registry.hpp"
#include "handover_runner.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// The worker's heartbeat loop (DESIGN.md §4, §7). Each round: renew the worker lease, claim free
// partitions up to the fair share, and queue the excess for handover; nothing else, so that a
// slow handover or a busy database table never costs the lease. Validity is known by the local
// monotonic clock alone: a watchdog reports the lease lost the moment it runs out, even while a
// renewal is stuck on a frozen connection, so the worker stops receiving at once. A lease the
// database calls gone makes the keeper register the worker anew under a fresh id, the fencing
// identity of all its commits. A worker asked to drain hands back everything, then reports
// drained.
// Lifecycle: start() → ... → stop(); step() runs one round and check_expiry() one watchdog look
// (the test hooks); finish_handovers() waits for (or, once stopped, runs) queued handovers.
class LeaseKeeper {
 public:
  struct Config {
    constexpr static std::chrono::milliseconds kDefaultTtl{2000};
    constexpr static std::chrono::milliseconds kDefaultInterval{500};
    std::chrono::milliseconds ttl = kDefaultTtl;
    std::chrono::milliseconds interval = kDefaultInterval;
  };
  // How often the watchdog looks at the local lease clock: a small part of the TTL's safety tenth.
  constexpr static std::chrono::milliseconds kWatchdogPoll{20};

  // Never called concurrently with each other, except `handing_over`, which runs on the handover
  // thread after `leaving` was called for the same partitions.
  struct Callbacks {
    std::function<void()> lost;                            // stop serving and receiving at once
    std::function<void(store::WorkerId)> joined;           // registered anew
    std::function<void(const std::vector<int>&)> leaving;  // quick: begin to stop receiving
    std::function<void(const std::vector<int>&)> handing_over;  // finish and release these
    std::function<void(const std::vector<int>&)> partitions;    // the owned set after the round
    std::function<void()> drained;                              // draining and nothing left
    // Whether the worker can serve what it owns (its NATS link is up, or was down for less than
    // a lease): while false, the rounds hand every partition back, as in a drain, and claim none.
    std::function<bool()> may_hold = [] { return true; };
  };

  // storage_url: the worker's storage shard, where each round mirrors its lease and partitions
  // (empty: its objects live in the control database, database_url).
  LeaseKeeper(std::string database_url, store::ConnectionUrl storage_url, store::WorkerInfo info,
              Config config, Clock& clock, Callbacks callbacks);
  ~LeaseKeeper();

  // Serves as `id`, counting the lease as valid from `renewed_at` (taken before the
  // registration's round trip).
  void start(store::WorkerId id, Clock::TimePoint renewed_at);
  void stop();
  void step();
  void check_expiry();
  void finish_handovers() { handovers_.run_pending(); }
  // Whether worker `id`'s lease is known valid now.
  bool valid(store::WorkerId id) const;
  store::WorkerId id() const { return id_.load(); }
  int losses() const { return losses_.load(); }

 private:
  void adopt(store::WorkerId id, Clock::TimePoint renewed_at);
  void lose();
  void rejoin();
  void round(bool draining, bool give_way);
  // Records in the database whether the worker can serve, when that changed (or after a new
  // registration, which starts available).
  void publish_availability(bool give_way);

  // Renews the lease copy on the storage shard (before the control lease: a worker cut off from
  // its shard lets its control lease lapse, so that others of the shard take over). False when
  // the copy had run out: the lease is lost.
  bool renew_on_shard();
  void mirror_on_shard(const store::PartitionShare& share);

  store::LazyConnection conn_;
  store::LazyConnection storage_conn_;  // url() empty: the objects live in the control database
  store::WorkerInfo info_;
  Config config_;
  Clock& clock_;
  Callbacks callbacks_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<store::WorkerId> id_{0};  // 0 while not registered
  std::atomic<Clock::Duration::rep> valid_until_{0};
  std::atomic<int> losses_{0};
  bool drained_ = false;
  bool giving_way_ = false;
  std::pair<store::WorkerId, bool> published_availability_{0, true};
  // Serializes the callbacks of the heartbeat and of the watchdog; never held over a database
  // call, so the watchdog cannot wait for a frozen connection.
  std::mutex callbacks_mutex_;
  bool fenced_ = false;  // `lost` was called for the current lease
  HandoverRunner handovers_;
  PeriodicTask heartbeat_;
  PeriodicTask watchdog_;
};

}  // namespace dobj
