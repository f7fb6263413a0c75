#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {

// A dobj cluster to inject faults into: workers and timers on one nats-server and one
// PostgreSQL (both owned by this process), any of which can be killed, paused, drained or
// restarted. Used by the chaos suite and the failover benchmark.
class Cluster {
 public:
  struct Options {
    int workers = 3;
    int timers = 2;
    std::vector<std::string> worker_args;  // e.g. --audit-commits, lease timing
  };
  explicit Cluster(Options options);

  TestStack& stack() { return stack_; }
  std::size_t live_workers() const { return workers_.size(); }
  WorkerProcess& worker(std::size_t i) { return *workers_.at(i); }

  WorkerProcess& add_worker();
  // SIGKILL, reaped.
  void kill_worker(std::size_t i);
  // SIGSTOP for `paused`, then SIGCONT.
  void pause_worker(std::size_t i, std::chrono::milliseconds paused);
  // `dobj drain` semantics through the registry; waits until the process exited. False if it
  // did not exit 0 in time.
  bool drain_worker(std::size_t i, std::chrono::milliseconds deadline);
  void restart_postgres(std::chrono::milliseconds down);
  void restart_nats(std::chrono::milliseconds down);

  // The dobj.workers id of a worker process (its newest registration).
  std::int64_t worker_id(WorkerProcess& w);
  // Waits until every live worker holds its fair share of the partitions (handovers done).
  bool wait_balanced(std::chrono::milliseconds deadline);
  // Index of the live worker that owns the object now, or -1.
  int owner_of(const std::string& class_name, const std::string& object_id);

 private:
  Options options_;
  TestStack stack_;
  std::vector<WorkerProcess*> workers_;
};

}  // namespace dobj::testing
