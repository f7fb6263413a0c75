#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "dobj/store/worker_registry.hpp"

namespace dobj::store {

// What a worker holds after a claiming round, and what it should hold.
struct PartitionShare {
  std::vector<int> owned;  // sorted
  // The owned partitions' claims (what a storage shard mirrors), in the order of `owned`.
  std::vector<std::pair<int, std::int64_t>> epochs;
  // Owned partitions whose objects now live elsewhere than the worker's storage location (the
  // shard map changed): all to hand back. Sorted.
  std::vector<int> foreign;
  // ceil(partitions of its storage location / live serving workers there); 0 while draining.
  int fair_share = 0;
  // The partitions to hand back (the foreign ones, then the highest-numbered beyond the fair
  // share), sorted.
  std::vector<int> excess() const;
};

// dobj.cluster and dobj.partitions: which worker routes which partition. Every change of owner
// is logged in dobj.partition_log (dobj_admin.handovers).
class PartitionTable {
 public:
  explicit PartitionTable(pqxx::connection& conn) : conn_(conn) {}

  int partition_count();
  // Claims free or expired partitions of the worker's storage location until it holds its fair
  // share of them; a draining worker claims nothing and its fair share is 0.
  PartitionShare claim_fair_share(WorkerId me, bool draining = false);
  // Hands partitions back: they are free for the others' next round. Returns those released.
  std::vector<int> release(WorkerId me, const std::vector<int>& partitions);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
