#include "dobj/store/object_store.hpp"

#include "dobj/core/names.hpp"
#include "dobj/store/database.hpp"

namespace dobj::store {
namespace {

std::string bytes_of(const pqxx::field& f) {
  pqxx::binarystring b(f);
  return std::string(b.get(), b.size());
}

void create_schema(pqxx::transaction_base& tx, const std::string& schema) {
  auto q = quote_ident(schema);
  tx.exec0("CREATE SCHEMA IF NOT EXISTS " + q + "; CREATE TABLE IF NOT EXISTS " + q +
           ".kv (key text PRIMARY KEY, value bytea NOT NULL)");
}

void apply_writes(pqxx::transaction_base& tx, const ObjectCommit& c) {
  auto table = quote_ident(c.lease.schema_name) + ".kv";
  for (const auto& w : c.writes) {
    if (w.value) {
      tx.exec_params0("INSERT INTO " + table +
                          " (key, value) VALUES ($1, $2) "
                          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                      w.key, pqxx::binarystring(w.value->data(), w.value->size()));
    } else if (c.lease.schema_exists) {
      tx.exec_params0("DELETE FROM " + table + " WHERE key = $1", w.key);
    }
  }
}

bool has_puts(const ObjectCommit& c) {
  for (const auto& w : c.writes) {
    if (w.value) return true;
  }
  return false;
}

}  // namespace

std::optional<ObjectLease> ObjectStore::claim(const std::string& class_name,
                                              const std::string& object_id, int partition) {
  return with_storage_errors("claiming the object", [&]() -> std::optional<ObjectLease> {
    pqxx::nontransaction tx(conn_);
    auto rows = tx.exec_params(R"sql(
      INSERT INTO dobj.objects AS o (class, id, p, owner, epoch)
      SELECT $1, $2, $3, $4, 1
      WHERE EXISTS (SELECT 1 FROM dobj.partitions WHERE p = $3 AND owner = $4)
      ON CONFLICT (class, id) DO UPDATE
        SET owner = EXCLUDED.owner, epoch = o.epoch + 1, p = EXCLUDED.p, last_active_at = now()
        WHERE EXISTS (SELECT 1 FROM dobj.partitions WHERE p = $3 AND owner = $4)
          AND (o.owner IS NULL OR o.owner = $4 OR NOT EXISTS (
                 SELECT 1 FROM dobj.workers w
                 WHERE w.id = o.owner AND w.state <> 'stopped' AND w.lease_until > now()))
      RETURNING epoch, schema_name)sql",
                               class_name, object_id, partition, me_);
    if (rows.empty()) return std::nullopt;
    ObjectLease lease;
    lease.epoch = rows[0][0].as<std::int64_t>();
    lease.schema_exists = !rows[0][1].is_null();
    lease.schema_name = lease.schema_exists ? rows[0][1].as<std::string>()
                                            : object_schema_name(class_name, object_id);
    return lease;
  });
}

std::optional<std::string> ObjectStore::load(const ObjectLease& lease, const std::string& key) {
  if (!lease.schema_exists) return std::nullopt;
  return with_storage_errors("loading a key", [&]() -> std::optional<std::string> {
    touch(lease.schema_name);
    pqxx::nontransaction tx(conn_);
    auto rows = tx.exec_params(
        "SELECT value FROM " + quote_ident(lease.schema_name) + ".kv WHERE key = $1", key);
    if (rows.empty()) return std::nullopt;
    return bytes_of(rows[0][0]);
  });
}

std::vector<std::pair<std::string, std::string>> ObjectStore::load_all(const ObjectLease& lease) {
  if (!lease.schema_exists) return {};
  return with_storage_errors("loading the object", [&] {
    touch(lease.schema_name);
    pqxx::nontransaction tx(conn_);
    auto rows =
        tx.exec("SELECT key, value FROM " + quote_ident(lease.schema_name) + ".kv ORDER BY key");
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.emplace_back(row[0].as<std::string>(), bytes_of(row[1]));
    return out;
  });
}

std::vector<CommitOutcome> ObjectStore::commit(std::vector<ObjectCommit>& commits) {
  return with_storage_errors("committing", [&] {
    std::vector<CommitOutcome> outcomes;
    outcomes.reserve(commits.size());
    pqxx::work tx(conn_);
    for (auto& c : commits) {
      pqxx::subtransaction savepoint(tx);
      bool creates_schema = !c.lease.schema_exists && has_puts(c);
      auto fenced = savepoint.exec_params(
          "UPDATE dobj.objects SET version = version + 1, last_active_at = now(), "
          "schema_name = CASE WHEN $5 THEN $6 ELSE schema_name END "
          "WHERE class = $1 AND id = $2 AND owner = $3 AND epoch = $4 RETURNING 1",
          c.class_name, c.object_id, me_, c.lease.epoch, creates_schema, c.lease.schema_name);
      if (fenced.empty()) {
        savepoint.abort();
        outcomes.push_back(CommitOutcome::kFenced);
        continue;
      }
      if (creates_schema) create_schema(savepoint, c.lease.schema_name);
      if (c.lease.schema_exists || creates_schema) touch(c.lease.schema_name);
      apply_writes(savepoint, c);
      savepoint.commit();
      outcomes.push_back(CommitOutcome::kCommitted);
    }
    tx.commit();
    // Only now is the schema durable; a rolled-back creation must be retried by the next commit.
    for (std::size_t i = 0; i < commits.size(); ++i) {
      if (outcomes[i] == CommitOutcome::kCommitted && has_puts(commits[i])) {
        commits[i].lease.schema_exists = true;
      }
    }
    return outcomes;
  });
}

void ObjectStore::release(const std::vector<LeaseRef>& leases) {
  if (leases.empty()) return;
  with_storage_errors("releasing objects", [&] {
    pqxx::work tx(conn_);
    for (const auto& l : leases) {
      tx.exec_params0(
          "UPDATE dobj.objects SET owner = NULL "
          "WHERE class = $1 AND id = $2 AND owner = $3 AND epoch = $4",
          l.class_name, l.object_id, me_, l.epoch);
    }
    tx.commit();
  });
}

}  // namespace dobj::store
