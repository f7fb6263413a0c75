#pragma once

#include <pqxx/pqxx>

#include <optional>
#include <vector>

#include "dobj/store/worker_registry.hpp"
#include "sql_values.hpp"

namespace dobj::store {

// Gives partitions back (all of the worker's when `which` is nullopt) and logs the handover.
inline std::vector<int> release_partitions(pqxx::transaction_base& tx, WorkerId me,
                                           const std::optional<std::vector<int>>& which) {
  std::vector<std::string> ps;
  if (which) {
    for (int p : *which) ps.push_back(std::to_string(p));
  }
  auto rows = tx.exec_params(R"sql(
    WITH r AS (
      UPDATE dobj.partitions SET owner = NULL
      WHERE owner = $1 AND ($2 OR p = ANY($3::int[]))
      RETURNING p, epoch)
    INSERT INTO dobj.partition_log (p, worker, event, epoch)
    SELECT p, $1, 'released', epoch FROM r RETURNING p)sql",
                             me, !which.has_value(), text_array_literal(ps));
  std::vector<int> released;
  for (const auto& row : rows) released.push_back(row[0].as<int>());
  return released;
}

}  // namespace dobj::store
