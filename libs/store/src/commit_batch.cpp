#include "commit_batch.hpp"

#include "sql_values.hpp"

namespace dobj::store {
namespace {

std::optional<std::string> flag(bool b) {
  return b ? "t" : "f";
}

std::optional<std::string> number(std::size_t n) {
  return std::to_string(n);
}

constexpr const char* kTogetherCall = "dobj.commit_objects_together($1, $2::dobj.object_commit[])";
constexpr const char* kPerObjectCall = "dobj.commit_objects($1, $2::dobj.object_commit[])";
constexpr int kCallParams = 2;

// The class and id of the object a reply or message (row `row`, its object's index in n)
// belongs to, as the statement's SELECT list spells them.
std::string class_and_id_of(const std::string& row) {
  const std::string object = "(($2::dobj.object_commit[])[" + row + ".n])";
  return object + ".class, " + object + ".id";
}

}  // namespace

void CommitBatch::add(const ObjectCommit& c, bool entered) {
  std::vector<std::string> put_keys, del_keys;
  std::vector<std::optional<std::string>> put_values;
  for (const auto& w : c.writes) {
    if (w.value) {
      put_keys.push_back(w.key);
      put_values.push_back(bytea_hex(*w.value));
    } else if (!c.delete_all) {  // after delete_all there is nothing left to delete
      del_keys.push_back(w.key);
    }
  }
  // Field order: the type dobj.object_commit.
  objects_.push_back(record_literal(
      {c.class_name, c.object_id, std::to_string(c.lease.epoch), c.lease.schema_name,
       flag(c.lease.schema_exists), flag(entered), flag(c.delete_all), text_array_literal(put_keys),
       text_array_literal(put_values), text_array_literal(del_keys),
       std::to_string(static_cast<int>(c.alarm_op)), std::to_string(c.alarm_at), c.alarm_trace}));
  for (const auto& r : c.replies) {
    reply_of_.push_back(number(objects_.size()));
    reply_keys_.push_back(r.key);
    reply_ok_.push_back(flag(r.ok));
    reply_types_.push_back(r.content_type);
    reply_bodies_.push_back(bytea_hex(r.body));
    reply_pending_.push_back(flag(r.pending));
  }
  for (const auto& m : c.sends) {
    send_of_.push_back(number(objects_.size()));
    send_seqs_.push_back(std::to_string(m.seq));
    send_partitions_.push_back(std::to_string(m.partition));
    send_kinds_.push_back(m.event ? "event" : m.call.empty() ? "message" : "call");
    send_classes_.push_back(m.target_class);
    send_ids_.push_back(m.target_id);
    send_methods_.push_back(m.method);
    send_bodies_.push_back(bytea_hex(m.body));
    send_traces_.push_back(m.traceparent);
    send_calls_.push_back(m.call.empty() ? std::nullopt : std::optional(bytea_hex(m.call)));
  }
}

std::string CommitBatch::sql(Isolation isolation) const {
  const bool per_object = isolation == Isolation::kPerObject;
  const std::string call = per_object ? kPerObjectCall : kTogetherCall;
  const std::string columns = std::string("SELECT idx, committed, object_schema, ") +
                              (per_object ? "rejected" : "NULL::text AS rejected") + " FROM ";
  // Batches without stored replies or durable messages skip the CTE: it costs planning time on
  // every commit.
  if (!has_replies() && !has_sends()) return columns + call + " ORDER BY idx";
  // Stored replies and durable messages go in the same statement, only for the objects that
  // committed. Their parameters follow the call's, replies first.
  int next = kCallParams + 1;
  auto param = [&next] { return "$" + std::to_string(next++); };
  std::string sql = "WITH c AS MATERIALIZED (SELECT * FROM " + call + ")";
  if (has_replies()) {
    // A key reused after its window is new again, even before housekeeping removed the
    // expired row.
    // A pending row (the request made an awaited call) gives way to the continuation's reply.
    auto of = param(), keys = param(), ok = param(), types = param(), bodies = param(),
         pending = param(), window = param();
    sql +=
        ", r AS (INSERT INTO dobj.idempotency "
        "(class, id, key, ok, content_type, reply, pending, expires_at) "
        "SELECT " +
        class_and_id_of("u") +
        ", u.k, u.ok, u.t, u.b, u.pd, "
        "now() + make_interval(secs => " +
        window + ") FROM unnest(" + of + "::int[], " + keys + "::text[], " + ok + "::boolean[], " +
        types + "::text[], " + bodies + "::bytea[], " + pending +
        "::boolean[]) AS u(n, k, ok, t, b, pd) JOIN c ON c.idx = u.n AND c.committed "
        "ON CONFLICT (class, id, key) DO UPDATE SET ok = EXCLUDED.ok, "
        "content_type = EXCLUDED.content_type, reply = EXCLUDED.reply, "
        "pending = EXCLUDED.pending, expires_at = EXCLUDED.expires_at "
        "WHERE dobj.idempotency.expires_at <= now() OR dobj.idempotency.pending)";
  }
  if (has_sends()) {
    // A sequence number already used (a stale view of the sender) fails the statement: no
    // message is ever stored twice under one key.
    auto of = param(), seq = param(), part = param(), kinds = param(), classes = param(),
         ids = param(), methods = param(), bodies = param(), traces = param(), calls = param();
    sql += ", m AS MATERIALIZED (SELECT u.* FROM unnest(" + of + "::int[], " + seq +
           "::bigint[], " + part + "::int[], " + kinds + "::text[], " + classes + "::text[], " +
           ids + "::text[], " + methods + "::text[], " + bodies + "::bytea[], " + traces +
           "::text[], " + calls +
           "::bytea[]) AS u(n, seq, p, k, tc, ti, tm, b, tp, cr) "
           "JOIN c ON c.idx = u.n AND c.committed)"
           ", o AS (INSERT INTO dobj.outbox (sender_class, sender_id, seq, p, kind, target_class, "
           "target_id, method, body, traceparent, call) "
           "SELECT " +
           class_and_id_of("m") +
           ", m.seq, m.p, m.k, m.tc, m.ti, m.tm, m.b, nullif(m.tp, ''), m.cr FROM m)"
           ", s AS (INSERT INTO dobj.outbox_seq (class, id, seq) "
           "SELECT " +
           class_and_id_of("m") +
           ", max(m.seq) FROM m GROUP BY m.n "
           "ON CONFLICT (class, id) DO UPDATE SET seq = EXCLUDED.seq)";
  }
  return sql + " " + columns + "c ORDER BY idx";
}

std::vector<std::string> CommitBatch::params() const {
  std::vector<std::string> out{std::to_string(owner_), text_array_literal(objects_)};
  if (has_replies()) {
    for (auto a : {text_array_literal(reply_of_), text_array_literal(reply_keys_),
                   text_array_literal(reply_ok_), text_array_literal(reply_types_),
                   text_array_literal(reply_bodies_), text_array_literal(reply_pending_)}) {
      out.push_back(std::move(a));
    }
    out.push_back(std::to_string(seconds(reply_window_)));
  }
  if (has_sends()) {
    for (auto a : {text_array_literal(send_of_), text_array_literal(send_seqs_),
                   text_array_literal(send_partitions_), text_array_literal(send_kinds_),
                   text_array_literal(send_classes_), text_array_literal(send_ids_),
                   text_array_literal(send_methods_), text_array_literal(send_bodies_),
                   text_array_literal(send_traces_), text_array_literal(send_calls_)}) {
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace dobj::store
