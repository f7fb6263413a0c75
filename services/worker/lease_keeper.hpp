#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dobj/core/clock.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/worker_registry.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// The worker's heartbeat loop (DESIGN.md §4, §7). Each round: renew the worker lease, claim free
// partitions up to the fair share, hand back the excess, and know by the local monotonic clock
// whether the lease is still valid. A lease that ran out is gone: the keeper reports it lost and
// registers the worker anew under a fresh id, which is the fencing identity of all its commits.
// A worker asked to drain hands back everything, then reports drained.
// Lifecycle: start() → ... → stop(); step() runs one round (the test hook).
class LeaseKeeper {
 public:
  struct Config {
    constexpr static std::chrono::milliseconds kDefaultTtl{2000};
    constexpr static std::chrono::milliseconds kDefaultInterval{500};
    std::chrono::milliseconds ttl = kDefaultTtl;
    std::chrono::milliseconds interval = kDefaultInterval;
  };
  // Called on the keeper's thread, in the order of a round.
  struct Callbacks {
    std::function<void()> lost;                                 // stop serving at once
    std::function<void(store::WorkerId)> joined;                // registered anew
    std::function<void(const std::vector<int>&)> handing_over;  // finish and release these
    std::function<void(const std::vector<int>&)> partitions;    // the owned set after the round
    std::function<void()> drained;                              // draining and nothing left
  };

  LeaseKeeper(std::string database_url, store::WorkerInfo info, Config config, Clock& clock,
              Callbacks callbacks);
  ~LeaseKeeper();

  // Serves as `id`, counting the lease as valid from `renewed_at` (taken before the
  // registration's round trip).
  void start(store::WorkerId id, Clock::TimePoint renewed_at);
  void stop();
  void step();
  // Whether worker `id`'s lease is known valid now.
  bool valid(store::WorkerId id) const;
  store::WorkerId id() const { return id_.load(); }
  int losses() const { return losses_.load(); }

 private:
  void adopt(store::WorkerId id, Clock::TimePoint renewed_at);
  void lose();
  void rejoin();
  void round(bool draining);

  std::string database_url_;
  store::WorkerInfo info_;
  std::unique_ptr<pqxx::connection> conn_;
  Config config_;
  Clock& clock_;
  Callbacks callbacks_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<store::WorkerId> id_{0};  // 0 while not registered
  std::atomic<Clock::Duration::rep> valid_until_{0};
  std::atomic<int> losses_{0};
  constexpr static int kExpireEveryRounds = 20;
  constexpr static std::size_t kExpireBatch = 10'000;
  constexpr static std::chrono::hours kHandoverHistory{7 * 24};  // dobj_admin.handovers
  std::uint64_t rounds_ = 0;
  bool drained_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dobj
