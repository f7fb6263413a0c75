#include "dobj/store/retention.hpp"

#include <string>

#include "dobj/store/database.hpp"

namespace dobj::store {
namespace {

std::string older_than(const char* column, std::chrono::hours keep) {
  return std::string(column) + " < now() - interval '" + std::to_string(keep.count()) + " hours'";
}

}  // namespace

std::size_t prune_handovers(pqxx::connection& conn, std::chrono::hours keep, std::size_t limit) {
  return delete_some(conn, "dobj.partition_log", older_than("at", keep), limit);
}

std::size_t prune_departed_workers(pqxx::connection& conn, std::chrono::hours keep,
                                   std::size_t limit) {
  return with_storage_errors(conn, "pruning departed workers", [&] {
    pqxx::nontransaction tx(conn);
    // One statement: the foreign keys are checked at its end, after both UPDATEs.
    return tx
        .exec_params("WITH gone AS (SELECT id FROM dobj.workers WHERE " +
                         older_than("lease_until", keep) +
                         " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED), "
                         "p AS (UPDATE dobj.partitions SET owner = NULL "
                         "       WHERE owner IN (SELECT id FROM gone)), "
                         "o AS (UPDATE dobj.objects SET owner = NULL "
                         "       WHERE owner IN (SELECT id FROM gone)) "
                         "DELETE FROM dobj.workers WHERE id IN (SELECT id FROM gone)",
                     static_cast<std::int64_t>(limit))
        .affected_rows();
  });
}

std::size_t prune_departed_timers(pqxx::connection& conn, std::chrono::hours keep,
                                  std::size_t limit) {
  return delete_some(conn, "dobj.timers", older_than("lease_until", keep), limit);
}

std::size_t prune_dead_alarms(pqxx::connection& conn, std::chrono::hours keep, std::size_t limit) {
  return delete_some(conn, "dobj.dead_alarms", older_than("died_at", keep), limit);
}

}  // namespace dobj::store
