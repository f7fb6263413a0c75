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

constexpr const char* kCall =
    "dobj.commit_objects($1, $2::text[], $3::text[], $4::bigint[], $5::text[], $6::boolean[], "
    "$7::boolean[], $8::boolean[], $9::int[], $10::int[], $11::text[], $12::bytea[], "
    "$13::int[], $14::int[], $15::text[], $16::int[], $17::bigint[], $18::text[])";
constexpr int kCallParams = 18;

}  // namespace

void CommitBatch::add(const ObjectCommit& c, bool entered) {
  classes_.push_back(c.class_name);
  ids_.push_back(c.object_id);
  schemas_.push_back(c.lease.schema_name);
  epochs_.push_back(std::to_string(c.lease.epoch));
  has_schema_.push_back(flag(c.lease.schema_exists));
  entered_.push_back(flag(entered));
  delete_all_.push_back(flag(c.delete_all));
  // This object's puts and deletes are the 1-based ranges [from, to] of the flat key arrays.
  put_from_.push_back(number(put_keys_.size() + 1));
  del_from_.push_back(number(del_keys_.size() + 1));
  for (const auto& w : c.writes) {
    if (w.value) {
      put_keys_.push_back(w.key);
      put_values_.push_back(bytea_hex(*w.value));
    } else if (!c.delete_all) {  // after delete_all there is nothing left to delete
      del_keys_.push_back(w.key);
    }
  }
  put_to_.push_back(number(put_keys_.size()));
  del_to_.push_back(number(del_keys_.size()));
  alarm_ops_.push_back(std::to_string(static_cast<int>(c.alarm_op)));
  alarm_us_.push_back(std::to_string(c.alarm_at));
  alarm_traces_.push_back(c.alarm_trace);
  for (const auto& r : c.replies) {
    reply_of_.push_back(number(classes_.size()));
    reply_keys_.push_back(r.key);
    reply_ok_.push_back(flag(r.ok));
    reply_types_.push_back(r.content_type);
    reply_bodies_.push_back(bytea_hex(r.body));
    reply_pending_.push_back(flag(r.pending));
  }
  for (const auto& m : c.sends) {
    send_of_.push_back(number(classes_.size()));
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

std::string CommitBatch::sql() const {
  const std::string columns = "SELECT idx, committed, object_schema, rejected FROM ";
  // Batches without stored replies or durable messages skip the CTE: it costs planning time on
  // every commit.
  if (!has_replies() && !has_sends()) return columns + kCall + " ORDER BY idx";
  // Stored replies and durable messages go in the same statement, only for the objects that
  // committed. Their parameters follow the call's, replies first.
  int next = kCallParams + 1;
  auto param = [&next] { return "$" + std::to_string(next++); };
  std::string sql = std::string("WITH c AS MATERIALIZED (SELECT * FROM ") + kCall + ")";
  if (has_replies()) {
    // A key reused after its window is new again, even before housekeeping removed the
    // expired row.
    // A pending row (the request made an awaited call) gives way to the continuation's reply.
    auto of = param(), keys = param(), ok = param(), types = param(), bodies = param(),
         pending = param(), window = param();
    sql +=
        ", r AS (INSERT INTO dobj.idempotency "
        "(class, id, key, ok, content_type, reply, pending, expires_at) "
        "SELECT ($2::text[])[u.n], ($3::text[])[u.n], u.k, u.ok, u.t, u.b, u.pd, "
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
           "SELECT ($2::text[])[m.n], ($3::text[])[m.n], "
           "m.seq, m.p, m.k, m.tc, m.ti, m.tm, m.b, nullif(m.tp, ''), m.cr FROM m)"
           ", s AS (INSERT INTO dobj.outbox_seq (class, id, seq) "
           "SELECT ($2::text[])[m.n], ($3::text[])[m.n], max(m.seq) FROM m GROUP BY m.n "
           "ON CONFLICT (class, id) DO UPDATE SET seq = EXCLUDED.seq)";
  }
  return sql + " " + columns + "c ORDER BY idx";
}

std::vector<std::string> CommitBatch::params() const {
  std::vector<std::string> out{std::to_string(owner_),        text_array_literal(classes_),
                               text_array_literal(ids_),      text_array_literal(epochs_),
                               text_array_literal(schemas_),  text_array_literal(has_schema_),
                               text_array_literal(entered_),  text_array_literal(delete_all_),
                               text_array_literal(put_from_), text_array_literal(put_to_),
                               text_array_literal(put_keys_), text_array_literal(put_values_),
                               text_array_literal(del_from_), text_array_literal(del_to_),
                               text_array_literal(del_keys_), text_array_literal(alarm_ops_),
                               text_array_literal(alarm_us_), text_array_literal(alarm_traces_)};
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
