#include "dobj/store/partition_table.hpp"

#include <algorithm>

#include "dobj/store/database.hpp"
#include "partition_release.hpp"

namespace dobj::store {

std::vector<int> PartitionShare::excess() const {
  std::vector<int> out = foreign;
  std::size_t keep = static_cast<std::size_t>(std::max(fair_share, 0));
  for (int p : owned) {
    if (std::binary_search(foreign.begin(), foreign.end(), p)) continue;
    if (keep > 0) {
      --keep;
    } else {
      out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int PartitionTable::partition_count() {
  return with_storage_errors(conn_, "reading dobj.cluster", [&] {
    pqxx::nontransaction tx(conn_);
    return tx.exec1("SELECT partitions FROM dobj.cluster")[0].as<int>();
  });
}

namespace {

// Whether partition `p` belongs to worker `me`'s storage location: the shard whose range covers
// it, or (no range covers it) the control database.
// A range being copied belongs to no one (' copying' is no shard's name).
std::string in_my_storage(const std::string& p) {
  return "(SELECT CASE WHEN s.state = 'copying' THEN ' copying' ELSE s.name END "
         "FROM dobj.storage_shards s WHERE " +
         p +
         " BETWEEN s.first_partition AND s.last_partition) IS NOT DISTINCT FROM "
         "(SELECT w.storage_shard FROM dobj.workers w WHERE w.id = $1)";
}

}  // namespace

PartitionShare PartitionTable::claim_fair_share(WorkerId me, bool draining) {
  return with_storage_errors(conn_, "claiming partitions", [&] {
    pqxx::work tx(conn_);
    // A worker serves the partitions of its storage location only, and shares them with the live
    // workers of that location. A partition is free when it has no owner or its owner's lease
    // has run out; taking one over bumps its epoch and is logged with the previous owner.
    auto share = tx.exec_params1(R"sql(
      WITH mine_all AS (
        SELECT pa.p FROM dobj.partitions pa WHERE )sql" +
                                     in_my_storage("pa.p") + R"sql(),
      live AS (
        SELECT count(*) AS n FROM dobj.workers
        WHERE state = 'serving' AND available AND lease_until > now()
          AND storage_shard IS NOT DISTINCT FROM
              (SELECT w.storage_shard FROM dobj.workers w WHERE w.id = $1)),
      fair AS (
        SELECT CASE WHEN $2 THEN 0
                    ELSE ceil((SELECT count(*) FROM mine_all)::numeric
                              / greatest(live.n, 1))::int END AS n
        FROM live),
      mine AS (SELECT count(*) AS n FROM dobj.partitions
               WHERE owner = $1 AND p IN (SELECT p FROM mine_all)),
      free AS (
        SELECT pa.p, pa.owner AS previous FROM dobj.partitions pa
        WHERE pa.p IN (SELECT p FROM mine_all) AND (pa.owner IS NULL OR NOT EXISTS (
          SELECT 1 FROM dobj.workers w
          WHERE w.id = pa.owner AND w.state <> 'stopped' AND w.lease_until > now()))
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
    auto rows = tx.exec_params("SELECT p, epoch, " + in_my_storage("p") +
                                   " FROM dobj.partitions WHERE owner = $1 ORDER BY p",
                               me);
    tx.commit();
    PartitionShare out;
    out.fair_share = share[0].as<int>();
    out.owned.reserve(rows.size());
    for (const auto& row : rows) {
      int p = row[0].as<int>();
      out.owned.push_back(p);
      out.epochs.emplace_back(p, row[1].as<std::int64_t>());
      if (!row[2].as<bool>()) out.foreign.push_back(p);
    }
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
