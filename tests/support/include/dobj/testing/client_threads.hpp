#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace dobj::testing {

// The client threads of a load generator (CounterLoad, LedgerLoad, BankLoad): each runs until
// stopping() says so; stop() says so and joins them all. Declare it after everything the
// threads touch, so that it goes first.
class ClientThreads {
 public:
  ClientThreads() = default;
  ~ClientThreads() { stop(); }
  ClientThreads(const ClientThreads&) = delete;
  ClientThreads& operator=(const ClientThreads&) = delete;

  void spawn(std::function<void()> run) {
    if (threads_.empty()) started_ = std::chrono::steady_clock::now();
    threads_.emplace_back(std::move(run));
  }
  bool stopping() const { return stopping_.load(); }
  // Since the first thread was spawned: when an outcome happened, to set beside a fault log.
  double seconds_running() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  void stop() {
    stopping_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace dobj::testing
