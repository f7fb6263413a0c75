#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <vector>

#include "dobj/store/worker_registry.hpp"

namespace dobj::store {

// What a worker holds after a claiming round, and what it should hold.
struct PartitionShare {
  std::vector<int> owned;  // sorted
  int fair_share = 0;      // ceil(P / live serving workers); 0 while draining
  // The partitions to hand back (the highest-numbered beyond the fair share), sorted.
  std::vector<int> excess() const;
};

// dobj.cluster and dobj.partitions: which worker routes which partition. Every change of owner
// is logged in dobj.partition_log (dobj_admin.handovers).
class PartitionTable {
 public:
  explicit PartitionTable(pqxx::connection& conn) : conn_(conn) {}

  int partition_count();
  // Claims free or expired partitions until the worker holds its fair share, ceil(P / live
  // serving workers); a draining worker claims nothing and its fair share is 0.
  PartitionShare claim_fair_share(WorkerId me, bool draining = false);
  // Hands partitions back: they are free for the others' next round. Returns those released.
  std::vector<int> release(WorkerId me, const std::vector<int>& partitions);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
