#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/tcp_proxy.hpp"
#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {

// A dobj cluster to inject faults into: workers and timers on NATS (one node or a cluster) and
// one PostgreSQL (both owned by this process), any of which can be killed, paused, drained or
// restarted. Each worker reaches PostgreSQL and every NATS node through TCP proxies of its own,
// so that one worker can be cut off from either while the rest runs. With storage shards, each
// shard is a PostgreSQL server of its own holding an even part of the partitions (linked into
// the control database's admin views), and workers are spread over the shards, the next one
// always to the shard with the fewest. Used by the chaos suite and the failover benchmark.
class Cluster {
 public:
  struct Options {
    int workers = 3;
    int timers = 2;
    std::vector<std::string> worker_args;  // e.g. --audit-commits, lease timing
    int nats_nodes = 1;
    int storage_shards = 0;  // 0: objects in the control database
  };
  explicit Cluster(Options options);

  TestStack& stack() { return stack_; }
  std::size_t live_workers() const { return workers_.size(); }
  WorkerProcess& worker(std::size_t i) { return *workers_.at(i).process; }
  // Worker i's links, to freeze and thaw by hand (one to each NATS node; to PostgreSQL: the
  // control database's, and its storage shard's when it serves one).
  TcpProxy& postgres_link(std::size_t i) { return *workers_.at(i).pg; }
  std::vector<TcpProxy*> postgres_links(std::size_t i);
  std::vector<TcpProxy*> nats_links(std::size_t i);

  WorkerProcess& add_worker();
  // SIGKILL, reaped.
  void kill_worker(std::size_t i);
  // SIGSTOP for `paused`, then SIGCONT.
  void pause_worker(std::size_t i, std::chrono::milliseconds paused);
  // `dobj drain` semantics through the registry; waits until the process exited. False if it
  // did not exit 0 in time; then `log`, when given, receives the worker's log and how it ended.
  bool drain_worker(std::size_t i, std::chrono::milliseconds deadline, std::string* log = nullptr);
  // The control database's server.
  void restart_postgres(std::chrono::milliseconds down);
  // Storage shard `shard`'s server: stopped (fast shutdown) for `down`, then started again.
  void restart_storage_shard(int shard, std::chrono::milliseconds down);
  int storage_shards() const { return static_cast<int>(shard_servers_.size()); }
  // Moves partitions first..last to storage shard `to` with `dobj shards move` (as the shards'
  // owners); throws with the command's output when it fails. Returns where they came from.
  std::string move_partitions(int first, int last, int to, std::chrono::seconds timeout);
  // The storage shard that holds partition p now (-1: the control database).
  int shard_of(int partition);
  void restart_nats(std::chrono::milliseconds down);
  // SIGKILLs one NATS node of a cluster for `down`, then starts it again and waits for its routes.
  void kill_nats_node(int node, std::chrono::milliseconds down);
  // Worker i's link to PostgreSQL (or NATS) swallows all traffic for `cut`, then works again.
  void cut_from_postgres(std::size_t i, std::chrono::milliseconds cut);
  void cut_from_nats(std::size_t i, std::chrono::milliseconds cut);
  // Every worker's PostgreSQL traffic is delayed by `delay` each way for `during`.
  void slow_postgres(std::chrono::milliseconds delay, std::chrono::milliseconds during);

  // The dobj.workers id of a worker process (its newest registration).
  std::int64_t worker_id(WorkerProcess& w);
  // Waits until every live worker holds its fair share of the partitions (handovers done).
  bool wait_balanced(std::chrono::milliseconds deadline);
  // Index of the live worker that owns the object now, or -1.
  int owner_of(const std::string& class_name, const std::string& object_id);

 private:
  struct Member {
    WorkerProcess* process = nullptr;
    std::unique_ptr<TcpProxy> pg;
    std::unique_ptr<TcpProxy> shard_pg;  // to its storage shard's server (--storage-url)
    std::vector<std::unique_ptr<TcpProxy>> nats;
    int shard = -1;  // the storage shard it serves (-1: the control database)
  };
  void add_storage_shards(int count);
  Member take(std::size_t i);

  Options options_;
  TestStack stack_;
  std::vector<std::unique_ptr<PostgresServer>> shard_servers_;
  std::vector<std::string> shard_admin_urls_;  // each shard's database, as its owner
  std::vector<Member> workers_;
};

}  // namespace dobj::testing
