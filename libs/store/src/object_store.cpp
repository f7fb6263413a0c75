#include "dobj/store/object_store.hpp"

#include "dobj/core/names.hpp"
#include "dobj/store/database.hpp"
#include "sql_values.hpp"

namespace dobj::store {
namespace {

std::string bytes_of(const pqxx::field& f) {
  pqxx::binarystring b(f);
  return std::string(b.get(), b.size());
}

std::string kv_table(const ObjectLease& lease) {
  return quote_ident(lease.schema_name) + ".kv";
}

std::string object_key(const std::string& class_name, const std::string& object_id) {
  return class_name + '\0' + object_id;
}

std::vector<std::pair<std::string, std::string>> rows_of(const pqxx::result& rows) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.emplace_back(row[0].as<std::string>(), bytes_of(row[1]));
  return out;
}

void create_schema(pqxx::transaction_base& tx, const std::string& schema) {
  auto q = quote_ident(schema);
  // COLLATE "C": keys order by bytes, as in the runtime's in-memory cache.
  tx.exec0("CREATE SCHEMA IF NOT EXISTS " + q + "; CREATE TABLE IF NOT EXISTS " + q +
           ".kv (key text COLLATE \"C\" PRIMARY KEY, value bytea NOT NULL)");
}

bool has_puts(const ObjectCommit& c) {
  for (const auto& w : c.writes) {
    if (w.value) return true;
  }
  return false;
}

}  // namespace

ObjectStore::~ObjectStore() {
  if (tx_) abort_batch();
}

template <typename Fn>
auto ObjectStore::with_tx(Fn&& fn) {
  if (tx_) return fn(static_cast<pqxx::transaction_base&>(*tx_));
  pqxx::nontransaction tx(conn_);
  return fn(static_cast<pqxx::transaction_base&>(tx));
}

pqxx::transaction_base& ObjectStore::open_batch() {
  if (!tx_) {
    tx_ = std::make_unique<pqxx::work>(conn_);
    search_path_.clear();
  }
  return *tx_;
}

void ObjectStore::abort_batch() {
  entered_.clear();
  turn_savepoint_ = false;
  if (!tx_) return;
  try {
    tx_->abort();
  } catch (const std::exception&) {
    // The connection is gone; the server has rolled back already.
  }
  tx_.reset();
}

std::optional<ObjectLease> ObjectStore::claim(const std::string& class_name,
                                              const std::string& object_id, int partition) {
  return with_storage_errors("claiming the object", [&]() -> std::optional<ObjectLease> {
    // A claim must be durable on its own, whatever becomes of the batch.
    if (tx_) throw Error(ErrorCode::kStorageError, "claim inside a batch transaction");
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
    return with_tx([&](pqxx::transaction_base& tx) -> std::optional<std::string> {
      auto rows = tx.exec_params("SELECT value FROM " + kv_table(lease) + " WHERE key = $1", key);
      if (rows.empty()) return std::nullopt;
      return bytes_of(rows[0][0]);
    });
  });
}

std::vector<std::pair<std::string, std::string>> ObjectStore::load_many(
    const ObjectLease& lease, const std::vector<std::string>& keys) {
  if (!lease.schema_exists || keys.empty()) return {};
  return with_storage_errors("loading keys", [&] {
    touch(lease.schema_name);
    return with_tx([&](pqxx::transaction_base& tx) {
      return rows_of(tx.exec_params(
          "SELECT key, value FROM " + kv_table(lease) + " WHERE key = ANY($1::text[])",
          text_array_literal(keys)));
    });
  });
}

std::vector<std::pair<std::string, std::string>> ObjectStore::load_all(const ObjectLease& lease) {
  return load_range(lease, KeyRange{});
}

std::vector<std::pair<std::string, std::string>> ObjectStore::load_range(const ObjectLease& lease,
                                                                         const KeyRange& range) {
  if (!lease.schema_exists) return {};
  return with_storage_errors("loading a key range", [&] {
    touch(lease.schema_name);
    std::string sql = "SELECT key, value FROM " + kv_table(lease) +
                      " WHERE starts_with(key, $1) AND ($2::text IS NULL OR key >= $2) "
                      "AND ($3::text IS NULL OR key < $3) ORDER BY key" +
                      (range.reverse ? " DESC" : "") +
                      (range.limit ? " LIMIT " + std::to_string(*range.limit) : "");
    const char* start = range.start ? range.start->c_str() : nullptr;
    const char* end = range.end ? range.end->c_str() : nullptr;
    return with_tx([&](pqxx::transaction_base& tx) {
      return rows_of(tx.exec_params(sql, range.prefix, start, end));
    });
  });
}

bool ObjectStore::enter_fenced_update(pqxx::transaction_base& tx, const std::string& class_name,
                                      const std::string& object_id, ObjectLease& lease) {
  auto rows = tx.exec_params(
      "UPDATE dobj.objects SET version = version + 1, last_active_at = now() "
      "WHERE class = $1 AND id = $2 AND owner = $3 AND epoch = $4 RETURNING 1",
      class_name, object_id, me_, lease.epoch);
  return !rows.empty();
}

bool ObjectStore::enter(const std::string& class_name, const std::string& object_id,
                        ObjectLease& lease) {
  auto key = object_key(class_name, object_id);
  if (entered_.count(key)) return true;
  return with_storage_errors("entering the batch", [&] {
    auto& tx = open_batch();
    if (!enter_fenced_update(tx, class_name, object_id, lease)) return false;
    if (!lease.schema_exists) {
      create_schema(tx, lease.schema_name);
      tx.exec_params0("UPDATE dobj.objects SET schema_name = $3 WHERE class = $1 AND id = $2",
                      class_name, object_id, lease.schema_name);
    }
    touch(lease.schema_name);
    entered_.insert(key);
    return true;
  });
}

void ObjectStore::set_search_path(pqxx::transaction_base& tx, const std::string& schema) {
  if (search_path_ == schema) return;
  // Only the object's schema: new tables land there, and pg_catalog, searched first implicitly,
  // keeps built-ins from being shadowed.
  tx.exec_params("SELECT set_config('search_path', $1, true)", quote_ident(schema));
  search_path_ = schema;
}

void ObjectStore::begin_turn() {
  turn_savepoint_ = false;
}

SqlResult ObjectStore::exec_sql(const ObjectLease& lease, const std::string& query,
                                const std::vector<Value>& params) {
  auto& tx = open_batch();
  return with_storage_errors("running SQL", [&] {
    if (!turn_savepoint_) {
      tx.exec0("SAVEPOINT dobj_turn");
      turn_savepoint_ = true;
    }
    set_search_path(tx, lease.schema_name);
    auto texts = sql_param_texts(params);
    std::vector<const char*> pointers;
    for (const auto& t : texts) pointers.push_back(t ? t->c_str() : nullptr);
    try {
      return to_sql_result(tx.exec_params(query, pqxx::prepare::make_dynamic_params(pointers)));
    } catch (const pqxx::sql_error& e) {
      throw SqlError(e.what(), e.sqlstate());
    }
  });
}

void ObjectStore::end_turn(bool succeeded) {
  if (!turn_savepoint_ || !tx_) return;
  turn_savepoint_ = false;
  with_storage_errors("ending the turn", [&] {
    if (!succeeded) {
      tx_->exec0("ROLLBACK TO SAVEPOINT dobj_turn");
      search_path_.clear();  // set_config was rolled back with it
    }
    tx_->exec0("RELEASE SAVEPOINT dobj_turn");
  });
}

void ObjectStore::apply(pqxx::transaction_base& tx, ObjectCommit& c) {
  // An object that entered through SQL got its schema then; otherwise the first put creates it.
  if (!c.lease.schema_exists && !entered_.count(object_key(c.class_name, c.object_id))) {
    if (!has_puts(c)) return;  // nothing stored yet, so nothing to delete either
    create_schema(tx, c.lease.schema_name);
    tx.exec_params0("UPDATE dobj.objects SET schema_name = $3 WHERE class = $1 AND id = $2",
                    c.class_name, c.object_id, c.lease.schema_name);
  }
  auto table = kv_table(c.lease);
  if (c.delete_all) tx.exec0("DELETE FROM " + table);
  std::vector<std::string> deleted, put_keys;
  std::vector<std::optional<std::string>> put_values;
  for (const auto& w : c.writes) {
    if (w.value) {
      put_keys.push_back(w.key);
      put_values.push_back(bytea_hex(*w.value));
    } else if (!c.delete_all) {
      deleted.push_back(w.key);
    }
  }
  if (!deleted.empty()) {
    tx.exec_params0("DELETE FROM " + table + " WHERE key = ANY($1::text[])",
                    text_array_literal(deleted));
  }
  if (!put_keys.empty()) {
    tx.exec_params0("INSERT INTO " + table +
                        " (key, value) SELECT k, v FROM unnest($1::text[], $2::bytea[]) AS u(k, v) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    text_array_literal(put_keys), text_array_literal(put_values));
  }
  if (c.delete_all && put_keys.empty()) {
    // An object with no keys and no tables of its own is deleted: its schema goes.
    auto others =
        tx.exec_params1(
              "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'S', 'p') AND c.relname <> "
              "'kv'",
              c.lease.schema_name)[0]
            .as<int>();
    if (others == 0) {
      tx.exec0("DROP SCHEMA " + quote_ident(c.lease.schema_name) + " CASCADE");
      tx.exec_params0("UPDATE dobj.objects SET schema_name = NULL WHERE class = $1 AND id = $2",
                      c.class_name, c.object_id);
      c.lease.schema_exists = false;
      return;
    }
  }
  c.lease.schema_exists = true;
}

std::vector<CommitOutcome> ObjectStore::commit(std::vector<ObjectCommit>& commits) {
  std::vector<CommitOutcome> outcomes;
  std::vector<ObjectLease> leases_before;
  for (const auto& c : commits) leases_before.push_back(c.lease);
  try {
    with_storage_errors("committing", [&] {
      auto& tx = open_batch();
      for (auto& c : commits) {
        auto key = object_key(c.class_name, c.object_id);
        if (entered_.count(key)) {
          apply(tx, c);
          outcomes.push_back(CommitOutcome::kCommitted);
          continue;
        }
        tx.exec0("SAVEPOINT dobj_object");
        if (!enter_fenced_update(tx, c.class_name, c.object_id, c.lease)) {
          tx.exec0("ROLLBACK TO SAVEPOINT dobj_object");
          outcomes.push_back(CommitOutcome::kFenced);
          continue;
        }
        apply(tx, c);
        tx.exec0("RELEASE SAVEPOINT dobj_object");
        if (c.lease.schema_exists) touch(c.lease.schema_name);
        outcomes.push_back(CommitOutcome::kCommitted);
      }
      tx_->commit();
      tx_.reset();
      entered_.clear();
    });
  } catch (...) {
    // Nothing of the batch happened: the leases are as they were.
    for (std::size_t i = 0; i < commits.size(); ++i) commits[i].lease = leases_before[i];
    abort_batch();
    throw;
  }
  return outcomes;
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
