#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <thread>
#include <vector>

#include "dobj/store/lazy_connection.hpp"
#include "dobj/store/worker_registry.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// Hands partitions back off the heartbeat's thread (issue "every answer true", item 4): a
// handover drains NATS subscriptions and waits for the shards to commit, which may take longer
// than a lease, and the heartbeat must never wait for it. For each job, in order: `finish`
// (stop receiving, let the shards commit and release the objects), then the partitions are
// released in the database on the runner's own connection, then they leave in_flight().
// Lifecycle: start() → submit()... → stop(); without start(), run_pending() runs the queue on the
// caller's thread (the test hook).
class HandoverRunner {
 public:
  using Finish = std::function<void(const std::vector<int>&)>;
  HandoverRunner(std::string database_url, Finish finish);
  ~HandoverRunner();

  void start();
  void stop();
  // Queues the handover of `partitions` by worker `id`; partitions already on their way are left
  // out. Thread-safe.
  void submit(store::WorkerId id, const std::vector<int>& partitions);
  // Partitions submitted and not yet released in the database.
  std::set<int> in_flight() const;
  // Runs every queued job (on the caller's thread when not started; else waits for the thread).
  void run_pending();

 private:
  struct Job {
    store::WorkerId id;
    std::vector<int> partitions;
  };
  void run(const Job& job);

  store::LazyConnection conn_;
  Finish finish_;
  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  std::set<int> in_flight_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dobj
