#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dobj::store {

using WorkerId = std::int64_t;

enum class LeaseState { kLost, kServing, kDraining };

struct WorkerInfo {
  std::string host;
  int pid = 0;
  std::string version;
  // Where its /metrics answers ("host:port"; empty: nowhere).
  std::string metrics_addr{};
  // Class name → callable method names (dobj.worker_classes; workers only).
  std::map<std::string, std::vector<std::string>> classes{};
  // The storage shard whose partitions it serves (dobj.storage_shards; empty: the partitions
  // whose objects live in the control database). Workers only.
  std::string storage_shard{};
};

// The worker's row in dobj.workers: its identity and its lease (DESIGN.md §4, §7).
class WorkerRegistry {
 public:
  explicit WorkerRegistry(pqxx::connection& conn) : conn_(conn) {}

  // The worker's row and the classes it hosts, in one transaction.
  WorkerId register_worker(const WorkerInfo& info, std::chrono::milliseconds ttl);
  // Extends the lease by ttl from the database's now(). kLost when the lease has already run
  // out or the row is stopped: the worker must then stop serving (self-fence).
  LeaseState renew(WorkerId id, std::chrono::milliseconds ttl);
  void set_state(WorkerId id, const std::string& state);
  // Asks a live worker to hand back all its partitions and stop (`dobj drain`). False when no
  // live serving worker has that id.
  bool request_drain(WorkerId id);
  // Whether the worker can serve (false while it is cut off from NATS): an unavailable worker
  // does not count towards the others' fair share.
  void set_available(WorkerId id, bool available);
  // Ends the lease now: partitions and objects become claimable at once.
  void mark_stopped(WorkerId id);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
