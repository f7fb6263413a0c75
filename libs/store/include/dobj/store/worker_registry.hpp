#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <string>

namespace dobj::store {

using WorkerId = std::int64_t;

struct WorkerInfo {
  std::string host;
  int pid = 0;
  std::string version;
};

// The worker's row in dobj.workers: its identity and its lease (DESIGN.md §4, §7).
class WorkerRegistry {
 public:
  explicit WorkerRegistry(pqxx::connection& conn) : conn_(conn) {}

  WorkerId register_worker(const WorkerInfo& info, std::chrono::milliseconds ttl);
  // Extends the lease by ttl from the database's now(). False when the lease has already run out
  // or the row is no longer serving: the worker must then stop serving (self-fence).
  bool renew(WorkerId id, std::chrono::milliseconds ttl);
  void set_state(WorkerId id, const std::string& state);
  // Ends the lease now: partitions and objects become claimable at once.
  void mark_stopped(WorkerId id);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
