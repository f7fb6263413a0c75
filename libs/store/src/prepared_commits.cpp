#include "prepared_commits.hpp"

#include "sql_values.hpp"

namespace dobj::store {
namespace {

constexpr const char* kNoSuchStatement = "26000";

}  // namespace

bool PreparedCommits::qualifies(const std::vector<ObjectCommit>& batch) const {
  if (max_statements_ == 0 || lost_ || batch.size() != 1) return false;
  const auto& c = batch.front();
  if (!c.lease.schema_exists || c.delete_all || c.alarm_op != AlarmOp::kKeep ||
      !c.replies.empty() || !c.sends.empty() || c.writes.empty()) {
    return false;
  }
  for (const auto& w : c.writes) {
    if (!w.value) return false;  // a delete
  }
  return true;
}

std::string PreparedCommits::sql(const std::string& quoted_schema,
                                 const std::string& schema_literal) {
  // The lease is read in the result row as well, so that it is checked even when no object row
  // matches (a fenced object's index lookup finds nothing and never evaluates the UPDATE's
  // filter). The upsert depends on the fence's row, so it runs after it, or not at all.
  return "WITH l AS MATERIALIZED (SELECT dobj.check_commit_lease($1::bigint) AS ok), "
         "f AS (UPDATE dobj.objects t SET version = t.version + 1, last_active_at = now() "
         "WHERE t.class = $2 AND t.id = $3 AND t.owner IS NOT DISTINCT FROM $1::bigint "
         "AND t.epoch = $4::bigint AND (SELECT ok FROM l) RETURNING 1), "
         "p AS (INSERT INTO " +
         quoted_schema +
         ".kv (key, value) SELECT * FROM unnest($5::text[], $6::bytea[]) "
         "WHERE EXISTS (SELECT 1 FROM f) "
         "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value) "
         "SELECT 1 AS idx, (SELECT ok FROM l) AND EXISTS (SELECT 1 FROM f) AS committed, " +
         schema_literal + "::text AS object_schema, NULL::text AS rejected";
}

pqxx::result PreparedCommits::run(WorkerId owner, const ObjectCommit& c) {
  std::vector<std::string> keys, values;
  for (const auto& w : c.writes) {
    keys.push_back(w.key);
    values.push_back(bytea_hex(*w.value));
  }
  const auto& schema = c.lease.schema_name;
  pqxx::nontransaction tx(conn_);
  auto args = [&](auto&& exec) {
    return exec(std::to_string(owner), c.class_name, c.object_id, std::to_string(c.lease.epoch),
                text_array_literal(keys), text_array_literal(values));
  };
  auto key = c.class_name + '\0' + c.object_id;
  auto it = statements_.find(key);
  if (it != statements_.end() && it->second.schema != schema) {
    drop(it);
    it = statements_.end();
  }
  if (it == statements_.end() && statements_.size() < max_statements_) {
    auto name = "dobj_commit_" + std::to_string(next_name_++);
    conn_.prepare(name, sql(tx.quote_name(schema), tx.quote(schema)));
    it = statements_.emplace(key, Statement{schema, std::move(name)}).first;
  }
  if (it == statements_.end()) {
    auto text = sql(tx.quote_name(schema), tx.quote(schema));
    return args([&](auto&&... a) { return tx.exec_params(text, a...); });
  }
  try {
    return args([&](auto&&... a) { return tx.exec_prepared(it->second.name, a...); });
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == kNoSuchStatement) lose_all();
    throw;  // nothing was applied: the caller commits through the general path
  }
}

void PreparedCommits::forget(const std::string& class_name, const std::string& object_id) {
  auto it = statements_.find(class_name + '\0' + object_id);
  if (it != statements_.end()) drop(it);
}

void PreparedCommits::drop(std::unordered_map<std::string, Statement>::iterator it) {
  auto name = std::move(it->second.name);
  statements_.erase(it);
  try {
    conn_.unprepare(name);
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() != kNoSuchStatement) throw;
    lose_all();  // gone already: so are the others, most likely (DEALLOCATE ALL)
  }
}

void PreparedCommits::lose_all() {
  // libpqxx still counts them as prepared and would send a DEALLOCATE for each: forget them
  // here instead, and never prepare on this connection again.
  lost_ = true;
  statements_.clear();
}

}  // namespace dobj::store
