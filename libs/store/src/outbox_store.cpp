#include "dobj/store/outbox_store.hpp"

#include "dobj/store/database.hpp"
#include "sql_values.hpp"

namespace dobj::store {
namespace {

constexpr const char* kColumns =
    "o.sender_class, o.sender_id, o.seq, o.p, o.kind = 'event', o.target_class, o.target_id, "
    "o.method, o.body, coalesce(o.traceparent, ''), o.attempts, "
    "(extract(epoch FROM o.created_at) * 1000000)::bigint, o.call";

std::vector<DurableMessage> to_messages(const pqxx::result& rows) {
  std::vector<DurableMessage> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    pqxx::binarystring body(r[8]);
    out.push_back(DurableMessage{
        r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::int64_t>(), r[3].as<int>(),
        r[4].as<bool>(), r[5].as<std::string>(), r[6].as<std::string>(), r[7].as<std::string>(),
        body.str(), r[9].as<std::string>(), r[10].as<int>(), r[11].as<EpochMicros>(),
        r[12].is_null() ? std::string() : pqxx::binarystring(r[12]).str()});
  }
  return out;
}

}  // namespace

std::vector<DurableMessage> OutboxStore::pending(WorkerId worker, std::size_t limit) {
  return with_storage_errors(conn_, "reading the outbox", [&] {
    pqxx::nontransaction tx(conn_);
    return to_messages(tx.exec_params(
        std::string("SELECT ") + kColumns +
            " FROM dobj.outbox o JOIN dobj.partitions pa ON pa.p = o.p AND pa.owner = $1 "
            "ORDER BY o.sender_class, o.sender_id, o.seq LIMIT $2",
        worker, static_cast<std::int64_t>(limit)));
  });
}

std::vector<DurableMessage> OutboxStore::pending_of(const std::string& sender_class,
                                                    const std::string& sender_id,
                                                    std::int64_t after, std::int64_t before) {
  return with_storage_errors(conn_, "reading a sender's outbox", [&] {
    pqxx::nontransaction tx(conn_);
    return to_messages(
        tx.exec_params(std::string("SELECT ") + kColumns +
                           " FROM dobj.outbox o WHERE o.sender_class = $1 AND o.sender_id = $2 "
                           "AND o.seq > $3 AND o.seq < $4 ORDER BY o.seq",
                       sender_class, sender_id, after, before));
  });
}

void OutboxStore::delivered(const std::vector<DurableMessage>& messages) {
  if (messages.empty()) return;
  std::vector<std::string> classes, ids, seqs;
  for (const auto& m : messages) {
    classes.push_back(m.sender_class);
    ids.push_back(m.sender_id);
    seqs.push_back(std::to_string(m.seq));
  }
  with_storage_errors(conn_, "removing delivered messages", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0(
        "DELETE FROM dobj.outbox o USING unnest($1::text[], $2::text[], $3::bigint[]) "
        "AS u(c, i, s) WHERE o.sender_class = u.c AND o.sender_id = u.i AND o.seq = u.s",
        text_array_literal(classes), text_array_literal(ids), text_array_literal(seqs));
  });
}

void OutboxStore::failed_attempt(const DurableMessage& m, const std::string& error,
                                 std::chrono::milliseconds retry_in) {
  with_storage_errors(conn_, "counting a delivery attempt", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0(
        "UPDATE dobj.outbox SET attempts = attempts + 1, last_error = $4, "
        "next_attempt_at = now() + make_interval(secs => $5) "
        "WHERE sender_class = $1 AND sender_id = $2 AND seq = $3",
        m.sender_class, m.sender_id, m.seq, error, seconds(retry_in));
  });
}

void OutboxStore::bury(const DurableMessage& m, const std::string& error_code,
                       const std::string& error) {
  with_storage_errors(conn_, "moving a message to dobj.dead_messages", [&] {
    pqxx::work tx(conn_);
    tx.exec_params0(
        "WITH gone AS (DELETE FROM dobj.outbox WHERE sender_class = $1 AND sender_id = $2 "
        "AND seq = $3 RETURNING *) "
        "INSERT INTO dobj.dead_messages (sender_class, sender_id, seq, kind, target_class, "
        "target_id, method, body, traceparent, created_at, attempts, error_code, error, call) "
        "SELECT sender_class, sender_id, seq, kind, target_class, target_id, method, body, "
        "traceparent, created_at, attempts + 1, $4, $5, call FROM gone "
        "ON CONFLICT (sender_class, sender_id, seq) DO NOTHING",
        m.sender_class, m.sender_id, m.seq, error_code, error);
    tx.commit();
  });
}

}  // namespace dobj::store
