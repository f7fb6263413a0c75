#include "dobj/store/object_store.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "commit_batch.hpp"
#include "dobj/core/names.hpp"
#include "dobj/store/database.hpp"
#include "prepared_commits.hpp"
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

// Whether a failed commit statement is worth repeating with each object on its own: not when
// the worker's lease ran out (dobj.commit_objects refuses the whole batch then too) nor when the
// statement ran out of time (it would again).
bool one_object_may_be_at_fault(const std::string& sqlstate) {
  constexpr const char* kLeaseRanOut = "DOB01";  // migrations/functions/30_commit_objects.sql
  constexpr const char* kQueryCanceled = "57014";
  return sqlstate != kLeaseRanOut && sqlstate != kQueryCanceled;
}

std::vector<std::pair<std::string, std::string>> rows_of(const pqxx::result& rows) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.emplace_back(row[0].as<std::string>(), bytes_of(row[1]));
  return out;
}

}  // namespace

ObjectStore::ObjectStore(pqxx::connection& conn, WorkerId me, std::size_t prepared_commits)
    : conn_(conn), me_(me), prepared_(std::make_unique<PreparedCommits>(conn, prepared_commits)) {}

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

std::vector<std::optional<ObjectLease>> ObjectStore::claim_many(
    const std::vector<ClaimRequest>& requests) {
  if (requests.empty()) return {};
  return with_storage_errors(conn_, "claiming objects", [&] {
    // A claim must be durable on its own, whatever becomes of the batch.
    if (tx_) throw Error(ErrorCode::kStorageError, "claim inside a batch transaction");
    // Sorted, so that two claimants lock rows in the same order.
    std::vector<std::size_t> order(requests.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) {
      return std::tie(requests[a].class_name, requests[a].object_id) <
             std::tie(requests[b].class_name, requests[b].object_id);
    });
    std::vector<std::string> classes, ids, partitions;
    for (auto i : order) {
      classes.push_back(requests[i].class_name);
      ids.push_back(requests[i].object_id);
      partitions.push_back(std::to_string(requests[i].partition));
    }
    // The partition's owner may always claim its objects, whoever the row names: a previous
    // holder released the partition only after finishing its turns, or lost its lease and
    // self-fenced, and any commit it still attempts is fenced by the epoch this claim bumps. So an
    // object forgotten without a release (failed commit, failed load, lease dip, failed release)
    // is never stranded with a live worker that no longer serves it.
    pqxx::nontransaction tx(conn_);
    auto rows = tx.exec_params(R"sql(
      INSERT INTO dobj.objects AS o (class, id, p, owner, epoch)
      SELECT u.c, u.i, u.p, $1, 1 FROM unnest($2::text[], $3::text[], $4::int[]) AS u(c, i, p)
      WHERE EXISTS (SELECT 1 FROM dobj.partitions pa WHERE pa.p = u.p AND pa.owner = $1)
        -- Not in a control database whose map has just sent this partition to a storage shard
        -- (a shard's own map is empty).
        AND NOT EXISTS (SELECT 1 FROM dobj.storage_shards s
                        WHERE u.p BETWEEN s.first_partition AND s.last_partition)
      ON CONFLICT (class, id) DO UPDATE
        SET owner = EXCLUDED.owner, epoch = o.epoch + 1, p = EXCLUDED.p, last_active_at = now()
        WHERE EXISTS (SELECT 1 FROM dobj.partitions pa WHERE pa.p = EXCLUDED.p AND pa.owner = $1)
      RETURNING class, id, epoch, schema_name,
        (SELECT (extract(epoch FROM a.due_at) * 1000000)::bigint
           FROM dobj.alarms a WHERE a.class = o.class AND a.id = o.id),
        (SELECT s.seq FROM dobj.outbox_seq s WHERE s.class = o.class AND s.id = o.id))sql",
                               me_, text_array_literal(classes), text_array_literal(ids),
                               text_array_literal(partitions));
    std::map<std::pair<std::string, std::string>, ObjectLease> claimed;
    for (const auto& row : rows) {
      ObjectLease lease;
      lease.epoch = row[2].as<std::int64_t>();
      if (!row[4].is_null()) lease.alarm = row[4].as<EpochMicros>();
      if (!row[5].is_null()) lease.outbox_seq = row[5].as<std::int64_t>();
      lease.schema_exists = !row[3].is_null();
      lease.schema_name = lease.schema_exists ? row[3].as<std::string>()
                                              : object_schema_name(row[0].as<std::string>(),
                                                                   row[1].as<std::string>());
      claimed.emplace(std::make_pair(row[0].as<std::string>(), row[1].as<std::string>()), lease);
    }
    std::vector<std::optional<ObjectLease>> out;
    for (const auto& r : requests) {
      auto it = claimed.find({r.class_name, r.object_id});
      out.push_back(it == claimed.end() ? std::nullopt : std::optional<ObjectLease>(it->second));
    }
    return out;
  });
}

std::optional<ObjectLease> ObjectStore::claim(const std::string& class_name,
                                              const std::string& object_id, int partition) {
  return claim_many({ClaimRequest{class_name, object_id, partition}}).front();
}

std::optional<std::string> ObjectStore::load(const ObjectLease& lease, const std::string& key) {
  if (!lease.schema_exists) return std::nullopt;
  return with_storage_errors(conn_, "loading a key", [&]() -> std::optional<std::string> {
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
  return with_storage_errors(conn_, "loading keys", [&] {
    touch(lease.schema_name);
    return with_tx([&](pqxx::transaction_base& tx) {
      return rows_of(tx.exec_params(
          "SELECT key, value FROM " + kv_table(lease) + " WHERE key = ANY($1::text[])",
          text_array_literal(keys)));
    });
  });
}

std::vector<std::pair<std::string, std::string>> ObjectStore::load_range(const ObjectLease& lease,
                                                                         const KeyRange& range) {
  if (!lease.schema_exists) return {};
  return with_storage_errors(conn_, "loading a key range", [&] {
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

bool ObjectStore::enter(const std::string& class_name, const std::string& object_id,
                        ObjectLease& lease) {
  auto key = object_key(class_name, object_id);
  if (entered_.count(key)) return true;
  return with_storage_errors(conn_, "entering the batch", [&] {
    auto& tx = open_batch();
    auto fenced = tx.exec_params(
        "UPDATE dobj.objects SET version = version + 1, last_active_at = now() "
        "WHERE class = $1 AND id = $2 AND owner = $3 AND epoch = $4 AND EXISTS ("
        "  SELECT 1 FROM dobj.workers w WHERE w.id = $3 AND w.state <> 'stopped' "
        "  AND w.lease_until > clock_timestamp()) RETURNING 1",
        class_name, object_id, me_, lease.epoch);
    if (fenced.empty()) return false;
    if (!lease.schema_exists) {
      // A ready schema of the pool, or its own (a failed batch gives it back; the object is
      // claimed anew after a failed commit, so this name is never used without its row).
      lease.schema_name =
          tx.exec_params1("SELECT dobj.take_object_schema($1::text)", lease.schema_name)[0]
              .as<std::string>();
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
  return with_storage_errors(conn_, "running SQL", [&] {
    if (!turn_savepoint_) {
      // Handler SQL runs as dobj_handler (migrations/0008): its object's schema, nothing of
      // dobj's. The role is local to the savepoint's transaction and reset at the turn's end.
      tx.exec0(std::string("SAVEPOINT dobj_turn; SET LOCAL ROLE ") + kHandlerRole);
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
  with_storage_errors(conn_, "ending the turn", [&] {
    auto roll_back = [&] {
      tx_->exec0("ROLLBACK TO SAVEPOINT dobj_turn; RELEASE SAVEPOINT dobj_turn; RESET ROLE");
      search_path_.clear();  // set_config was rolled back with it
    };
    if (!succeeded) return roll_back();
    std::string role;
    try {
      // Deferred constraints the turn's SQL violated fail here, as this turn's error, instead
      // of failing the whole batch at COMMIT; and the role the turn ended in comes back.
      // (exec_params: libpqxx 6 aborts the whole transaction when a plain exec fails.)
      role = tx_->exec_params1("SELECT dobj_turn.finish()")[0].as<std::string>();
    } catch (const pqxx::sql_error& e) {
      roll_back();
      throw SqlError(e.what(), e.sqlstate());
    }
    if (role != kHandlerRole) {
      roll_back();
      throw SqlError("the turn's SQL left role " + kHandlerRole + " (ended as " + role +
                         "); everything it did is rolled back",
                     "42501");
    }
    tx_->exec0("RESET ROLE; RELEASE SAVEPOINT dobj_turn");
  });
}

std::vector<CommitOutcome> ObjectStore::commit(std::vector<ObjectCommit>& commits) {
  if (commits.empty() && !tx_) return {};
  // The general statement's batch is built on first use: a prepared one-object commit (the
  // hot path) never needs its record literals and hex-encoded values.
  std::optional<CommitBatch> batch;
  std::vector<std::string> params;
  std::vector<const char*> pointers;
  auto run = [&](pqxx::transaction_base& tx, CommitBatch::Isolation isolation) {
    if (!batch) {
      batch.emplace(me_, reply_window_);
      for (const auto& c : commits) {
        batch->add(c, entered_.count(object_key(c.class_name, c.object_id)));
      }
      params = batch->params();
      for (const auto& p : params) pointers.push_back(p.c_str());
    }
    return tx.exec_params(batch->sql(isolation), pqxx::prepare::make_dynamic_params(pointers));
  };
  auto run_alone = [&](CommitBatch::Isolation isolation) {
    pqxx::nontransaction tx(conn_);
    return run(tx, isolation);
  };
  std::vector<CommitOutcome> outcomes;
  try {
    with_storage_errors(conn_, "committing", [&] {
      // Without an open batch the call is a transaction of its own: one round trip in all (two
      // after a failed statement).
      pqxx::result rows;
      if (tx_) {
        // Objects ran SQL in this transaction: a failed statement would take all of it, so each
        // object's commit is isolated from the start.
        if (!commits.empty()) rows = run(*tx_, CommitBatch::Isolation::kPerObject);
        tx_->commit();
        tx_.reset();
      } else {
        try {
          // The whole batch at once; isolating each object costs a subtransaction per call,
          // so only after a failure, which applied nothing.
          try {
            rows = prepared_->qualifies(commits) ? prepared_->run(me_, commits.front())
                                                 : run_alone(CommitBatch::Isolation::kTogether);
          } catch (const pqxx::sql_error& e) {
            if (!conn_.is_open() || !one_object_may_be_at_fault(e.sqlstate())) throw;
            rows = run_alone(CommitBatch::Isolation::kPerObject);
          }
        } catch (const std::exception& e) {
          // The statement is its own transaction: when the link broke (even with an error
          // message, e.g. a backend terminated right after its commit) it may have committed.
          if (!conn_.is_open()) throw pqxx::in_doubt_error(e.what());
          throw;
        }
      }
      for (const auto& row : rows) {
        auto& c = commits[row[0].as<std::size_t>() - 1];
        bool committed = row[1].as<bool>();
        if (!row[3].is_null()) {
          c.rejected = row[3].as<std::string>();
          outcomes.push_back(CommitOutcome::kRejected);
          continue;
        }
        outcomes.push_back(committed ? CommitOutcome::kCommitted : CommitOutcome::kFenced);
        if (committed) {
          c.lease.schema_exists = !row[2].is_null();
          if (c.lease.schema_exists) {
            c.lease.schema_name = row[2].as<std::string>();  // a first write's may be new
            touch(c.lease.schema_name);
          }
        }
      }
      entered_.clear();
    });
  } catch (...) {
    abort_batch();
    throw;
  }
  return outcomes;
}

std::vector<std::optional<StoredReply>> ObjectStore::find_replies(
    const std::vector<ReplyRef>& refs) {
  if (refs.empty()) return {};
  return with_storage_errors(conn_, "looking up idempotency keys", [&] {
    std::vector<std::string> classes, ids, keys;
    for (const auto& r : refs) {
      classes.push_back(r.class_name);
      ids.push_back(r.object_id);
      keys.push_back(r.key);
    }
    // By primary key in a LATERAL subquery, whatever the statistics say, and the expiry tested
    // outside it (LIMIT keeps it out): with `expires_at > now()` beside the key, statistics
    // taken ten minutes ago ("nothing expires that late") made idempotency_expiry look cheaper,
    // and each key read every stored reply that had not expired (see release()).
    auto rows = with_tx([&](pqxx::transaction_base& tx) {
      return tx.exec_params(
          "SELECT u.n, d.ok, d.content_type, d.reply, d.pending "
          "FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(c, i, k, n) "
          "CROSS JOIN LATERAL ("
          "  SELECT ok, content_type, reply, pending, expires_at FROM dobj.idempotency x "
          "   WHERE x.class = u.c AND x.id = u.i AND x.key = u.k LIMIT 1) d "
          "WHERE d.expires_at > now()",
          text_array_literal(classes), text_array_literal(ids), text_array_literal(keys));
    });
    std::vector<std::optional<StoredReply>> out(refs.size());
    for (const auto& row : rows) {
      auto n = row[0].as<std::size_t>() - 1;
      out[n] = StoredReply{refs[n].key, row[1].as<bool>(), row[2].as<std::string>(),
                           bytes_of(row[3]), row[4].as<bool>()};
    }
    return out;
  });
}

std::size_t expire_stored_replies(pqxx::connection& conn, std::size_t limit) {
  return delete_some(conn, "dobj.idempotency", "expires_at < now()", limit);
}

void ObjectStore::release(const std::vector<LeaseRef>& leases) {
  if (leases.empty()) return;
  // Sorted like claims, so that a release and a claim lock rows in the same order.
  std::vector<const LeaseRef*> sorted;
  for (const auto& l : leases) sorted.push_back(&l);
  std::sort(sorted.begin(), sorted.end(), [](const LeaseRef* a, const LeaseRef* b) {
    return std::tie(a->class_name, a->object_id) < std::tie(b->class_name, b->object_id);
  });
  std::vector<std::string> classes, ids, epochs;
  for (const auto* l : sorted) {
    classes.push_back(l->class_name);
    ids.push_back(l->object_id);
    epochs.push_back(std::to_string(l->epoch));
  }
  with_storage_errors(conn_, "releasing objects", [&] {
    // One statement. An object that never committed anything (version 0: no keys, no schema, no
    // alarm, no stored reply) leaves no row behind, so reads of random ids leave no garbage.
    // Each row is found by primary key in a LATERAL subquery and changed by its ctid, as in
    // dobj.commit_objects_together: never a scan of dobj.objects, whatever its statistics say
    // about owners (a row changed meanwhile has moved and stays as it is).
    pqxx::nontransaction(conn_).exec_params0(R"sql(
      WITH mine AS (
        SELECT o.row, o.version
          FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(c, i, e)
         CROSS JOIN LATERAL (
           SELECT ctid AS row, version FROM dobj.objects o
            WHERE o.class = u.c AND o.id = u.i AND o.owner IS NOT DISTINCT FROM $1
              AND o.epoch = u.e
            LIMIT 1) o),
      gone AS (DELETE FROM dobj.objects o USING mine m WHERE o.ctid = m.row AND m.version = 0)
      UPDATE dobj.objects o SET owner = NULL FROM mine m WHERE o.ctid = m.row AND m.version > 0)sql",
                                             me_, text_array_literal(classes),
                                             text_array_literal(ids), text_array_literal(epochs));
    for (const auto& l : leases) prepared_->forget(l.class_name, l.object_id);
  });
}

}  // namespace dobj::store
