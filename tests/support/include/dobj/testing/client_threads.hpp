#pragma once

#include <atomic>
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

  void spawn(std::function<void()> run) { threads_.emplace_back(std::move(run)); }
  bool stopping() const { return stopping_.load(); }
  void stop() {
    stopping_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace dobj::testing
