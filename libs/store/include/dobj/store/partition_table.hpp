#pragma once

#include <pqxx/pqxx>

#include <vector>

#include "dobj/store/worker_registry.hpp"

namespace dobj::store {

// dobj.cluster and dobj.partitions: which worker routes which partition.
class PartitionTable {
 public:
  explicit PartitionTable(pqxx::connection& conn) : conn_(conn) {}

  int partition_count();
  // Claims free or expired partitions until the worker holds its fair share,
  // ceil(P / live workers), and returns every partition it owns, sorted.
  std::vector<int> claim_fair_share(WorkerId me);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
