#include "dobj/store/partition_table.hpp"

#include "dobj/store/database.hpp"

namespace dobj::store {

int PartitionTable::partition_count() {
  return with_storage_errors("reading dobj.cluster", [&] {
    pqxx::nontransaction tx(conn_);
    return tx.exec1("SELECT partitions FROM dobj.cluster")[0].as<int>();
  });
}

std::vector<int> PartitionTable::claim_fair_share(WorkerId me) {
  return with_storage_errors("claiming partitions", [&] {
    pqxx::work tx(conn_);
    tx.exec_params0(R"sql(
      WITH live AS (
        SELECT count(*) AS n FROM dobj.workers WHERE state <> 'stopped' AND lease_until > now()),
      mine AS (SELECT count(*) AS n FROM dobj.partitions WHERE owner = $1),
      want AS (
        SELECT greatest(0, ceil(c.partitions::numeric / greatest(live.n, 1))::int - mine.n) AS n
        FROM dobj.cluster c, live, mine),
      free AS (
        SELECT pa.p FROM dobj.partitions pa
        WHERE pa.owner IS NULL OR NOT EXISTS (
          SELECT 1 FROM dobj.workers w
          WHERE w.id = pa.owner AND w.state <> 'stopped' AND w.lease_until > now())
        ORDER BY pa.p LIMIT (SELECT n FROM want)
        FOR UPDATE SKIP LOCKED)
      UPDATE dobj.partitions pa SET owner = $1, epoch = pa.epoch + 1, claimed_at = now()
      FROM free WHERE pa.p = free.p)sql",
                    me);
    auto rows = tx.exec_params("SELECT p FROM dobj.partitions WHERE owner = $1 ORDER BY p", me);
    tx.commit();
    std::vector<int> owned;
    owned.reserve(rows.size());
    for (const auto& row : rows) owned.push_back(row[0].as<int>());
    return owned;
  });
}

}  // namespace dobj::store
