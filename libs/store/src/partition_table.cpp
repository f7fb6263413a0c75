#include "dobj/store/partition_table.hpp"

#include <algorithm>

#include "dobj/store/database.hpp"
#include "partition_release.hpp"

namespace dobj::store {

std::vector<int> PartitionShare::excess() const {
  auto keep = static_cast<std::size_t>(std::max(fair_share, 0));
  if (owned.size() <= keep) return {};
  return {owned.begin() + static_cast<std::ptrdiff_t>(keep), owned.end()};
}

int PartitionTable::partition_count() {
  return with_storage_errors(conn_, "reading dobj.cluster", [&] {
    pqxx::nontransaction tx(conn_);
    return tx.exec1("SELECT partitions FROM dobj.cluster")[0].as<int>();
  });
}

PartitionShare PartitionTable::claim_fair_share(WorkerId me, bool draining) {
  return with_storage_errors(conn_, "claiming partitions", [&] {
    pqxx::work tx(conn_);
    // A partition is free when it has no owner or its owner's lease has run out; taking one
    // over bumps its epoch and is logged with the previous owner.
    auto share = tx.exec_params1(R"sql(
      WITH live AS (
        SELECT count(*) AS n FROM dobj.workers
        WHERE state = 'serving' AND available AND lease_until > now()),
      fair AS (
        SELECT CASE WHEN $2 THEN 0
                    ELSE ceil(c.partitions::numeric / greatest(live.n, 1))::int END AS n
        FROM dobj.cluster c, live),
      mine AS (SELECT count(*) AS n FROM dobj.partitions WHERE owner = $1),
      free AS (
        SELECT pa.p, pa.owner AS previous FROM dobj.partitions pa
        WHERE pa.owner IS NULL OR NOT EXISTS (
          SELECT 1 FROM dobj.workers w
          WHERE w.id = pa.owner AND w.state <> 'stopped' AND w.lease_until > now())
        ORDER BY pa.p LIMIT (SELECT greatest(0, fair.n - mine.n) FROM fair, mine)
        FOR UPDATE OF pa SKIP LOCKED),
      claimed AS (
        UPDATE dobj.partitions pa SET owner = $1, epoch = pa.epoch + 1, claimed_at = now()
        FROM free WHERE pa.p = free.p
        RETURNING pa.p, pa.epoch, free.previous),
      logged AS (
        INSERT INTO dobj.partition_log (p, worker, event, epoch, previous_owner)
        SELECT p, $1, CASE WHEN previous IS NULL THEN 'claimed' ELSE 'taken_over' END, epoch,
               previous
        FROM claimed)
      SELECT (SELECT n FROM fair))sql",
                                 me, draining);
    auto rows = tx.exec_params("SELECT p FROM dobj.partitions WHERE owner = $1 ORDER BY p", me);
    tx.commit();
    PartitionShare out;
    out.fair_share = share[0].as<int>();
    out.owned.reserve(rows.size());
    for (const auto& row : rows) out.owned.push_back(row[0].as<int>());
    return out;
  });
}

std::vector<int> PartitionTable::release(WorkerId me, const std::vector<int>& partitions) {
  if (partitions.empty()) return {};
  return with_storage_errors(conn_, "releasing partitions", [&] {
    pqxx::nontransaction tx(conn_);
    auto released = release_partitions(tx, me, partitions);
    std::sort(released.begin(), released.end());
    return released;
  });
}

}  // namespace dobj::store
