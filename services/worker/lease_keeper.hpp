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

// The worker's heartbeat loop: renews the worker lease, claims its fair share of partitions,
// and knows by its own monotonic clock whether the lease is still valid (DESIGN.md §4, §7).
// Lifecycle: start() → ... → stop(); step() runs one round (the test hook).
class LeaseKeeper {
 public:
  struct Config {
    constexpr static std::chrono::milliseconds kDefaultTtl{2000};
    constexpr static std::chrono::milliseconds kDefaultInterval{500};
    std::chrono::milliseconds ttl = kDefaultTtl;
    std::chrono::milliseconds interval = kDefaultInterval;
  };
  struct Callbacks {
    std::function<void(const std::vector<int>&)> partitions;  // the owned set after each round
    std::function<void()> lost;                               // the lease is gone for good
  };

  LeaseKeeper(std::string database_url, store::WorkerId id, Config config, Clock& clock,
              Callbacks callbacks);
  ~LeaseKeeper();

  // Counts the lease as valid from `renewed_at` (taken before the registration's round trip).
  void start(Clock::TimePoint renewed_at);
  void stop();
  void step();
  bool valid() const;
  bool lost() const { return lost_.load(); }

 private:
  std::string database_url_;
  std::unique_ptr<pqxx::connection> conn_;
  store::WorkerId id_;
  Config config_;
  Clock& clock_;
  Callbacks callbacks_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<Clock::Duration::rep> valid_until_{0};
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dobj
