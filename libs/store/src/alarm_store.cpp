#include "dobj/store/alarm_store.hpp"

#include "dobj/store/database.hpp"
#include "leased_rows.hpp"
#include "sql_values.hpp"

namespace dobj::store {

TimerId AlarmStore::register_timer(const WorkerInfo& info, std::chrono::milliseconds ttl) {
  return with_storage_errors(conn_, "registering the timer", [&] {
    pqxx::nontransaction tx(conn_);
    return insert_leased_row(tx, "dobj.timers", info, ttl);
  });
}

bool AlarmStore::renew(TimerId id, std::chrono::milliseconds ttl,
                       const std::vector<AlarmKey>& held) {
  return with_storage_errors(conn_, "renewing the timer lease", [&] {
    pqxx::work tx(conn_);
    if (!renew_leased_row(tx, "dobj.timers", id, ttl).has_value()) return false;
    if (held.empty()) {
      tx.commit();
      return true;
    }
    std::vector<std::string> classes, ids;
    classes.reserve(held.size());
    ids.reserve(held.size());
    for (const auto& k : held) {
      classes.push_back(k.class_name);
      ids.push_back(k.object_id);
    }
    // The claims live as long as the timer does. Only those with less than half their TTL left
    // are extended: most claims fire within their first TTL (the claim window is no longer), and
    // extending all of them every second wrote every held alarm's row once a second (10,000 rows
    // a second during a burst, and the timer fires nothing while it waits for that statement).
    // A row a worker's commit holds (it is deleting or resetting the alarm that fired) is
    // skipped, not waited for: waiting deadlocked with such commits, which lock alarm rows in
    // another order. The next renewal, within the claim's TTL, takes it if it is still this
    // timer's.
    // The rows are found by the keys the timer holds (primary key lookups in a LATERAL
    // subquery, whatever the statistics say: see kLockFiredRows below), not by claimed_by,
    // which has no index (one would make every claim a non-HOT update): a table of millions of
    // future alarms would cost every timer a scan a second. Updated by ctid while locked.
    tx.exec_params0(
        "UPDATE dobj.alarms a SET claimed_until = now() + make_interval(secs => $2) "
        "WHERE a.ctid = ANY(ARRAY("
        "  SELECT k.row FROM unnest($3::text[], $4::text[]) AS u(c, i) "
        "   CROSS JOIN LATERAL ("
        "     SELECT ctid AS row FROM dobj.alarms al "
        "      WHERE al.class = u.c AND al.id = u.i AND al.claimed_by = $1 "
        "        AND al.claimed_until < now() + make_interval(secs => $2 / 2) "
        "      LIMIT 1 FOR UPDATE SKIP LOCKED) k))",
        id, seconds(ttl), text_array_literal(classes), text_array_literal(ids));
    tx.commit();
    return true;
  });
}

void AlarmStore::stop(TimerId id) {
  with_storage_errors(conn_, "stopping the timer", [&] {
    pqxx::work tx(conn_);
    // Skips rows a commit holds, as renew() does: those claims simply expire.
    tx.exec_params0(
        "UPDATE dobj.alarms a SET claimed_by = NULL, claimed_until = NULL "
        "FROM (SELECT class, id FROM dobj.alarms WHERE claimed_by = $1 "
        "      FOR UPDATE SKIP LOCKED) s "
        "WHERE a.class = s.class AND a.id = s.id",
        id);
    tx.exec_params0("UPDATE dobj.timers SET state = 'stopped', lease_until = now() WHERE id = $1",
                    id);
    tx.commit();
  });
}

void AlarmStore::count_fired(TimerId id, std::int64_t n) {
  with_storage_errors(conn_, "counting fired alarms", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0("UPDATE dobj.timers SET fired = fired + $2 WHERE id = $1", id, n);
  });
}

std::vector<ClaimedAlarm> AlarmStore::claim_due(TimerId id, std::chrono::milliseconds window,
                                                std::size_t limit,
                                                std::chrono::milliseconds claim_ttl) {
  return with_storage_errors(conn_, "claiming alarms", [&] {
    // The rows locked by the subquery are updated by their ctids (a TID scan; they stay put while
    // locked). Joined by key, the planner hashed the whole alarms table for every batch: a third
    // of the statement's time in a burst of 100,000 (docs/performance.md).
    pqxx::nontransaction tx(conn_);
    auto rows =
        tx.exec_params(R"sql(
      UPDATE dobj.alarms a SET claimed_by = $1, claimed_until = now() + make_interval(secs => $4)
      WHERE a.ctid = ANY(ARRAY(
        SELECT ctid FROM dobj.alarms
         WHERE coalesce(next_attempt_at, due_at) <= now() + make_interval(secs => $2)
           AND (claimed_by IS NULL OR claimed_until < now())
         ORDER BY coalesce(next_attempt_at, due_at) LIMIT $3
         FOR UPDATE SKIP LOCKED))
      RETURNING a.class, a.id,
                (SELECT o.p FROM dobj.objects o WHERE o.class = a.class AND o.id = a.id),
                (extract(epoch FROM a.due_at) * 1000000)::bigint,
                (extract(epoch FROM coalesce(a.next_attempt_at, a.due_at)) * 1000000)::bigint,
                a.retry_count, coalesce(a.traceparent, ''))sql",
                       id, seconds(window), static_cast<std::int64_t>(limit), seconds(claim_ttl));
    std::vector<ClaimedAlarm> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int>(),
                     r[3].as<EpochMicros>(), r[4].as<EpochMicros>(), r[5].as<int>(),
                     r[6].as<std::string>()});
    }
    return out;
  });
}

namespace {

// The fired alarms' rows ($2 classes, $3 ids, $4 due_at in µs since the epoch) that are still
// the ones fired and still claimed by timer $1, locked (so their ctids stay put); a row a
// worker's commit holds is skipped (see record_failures). Columns: row (the ctid), retry_count.
// Each row is looked up by its key in a LATERAL subquery, whatever the statistics say: with
// `claimed_by = $1` as a filter of a join, statistics taken while no alarm was claimed let the
// planner scan dobj.alarms once per alarm named (the fault dobj.commit_objects_together had).
// The statements change the rows by `ctid = ANY(…)`, a TID scan, for the same reason.
constexpr const char* kLockFiredRows = R"sql(
  SELECT k.row, k.retry_count
    FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(class, id, due_us)
   CROSS JOIN LATERAL (
     SELECT ctid AS row, retry_count FROM dobj.alarms al
      WHERE al.class = u.class AND al.id = u.id AND al.claimed_by = $1
        AND al.due_at = timestamptz 'epoch' + u.due_us * interval '1 microsecond'
      LIMIT 1 FOR UPDATE SKIP LOCKED) k)sql";

struct FiredKeys {
  std::string classes, ids, due_us;
};

FiredKeys fired_keys(const std::vector<ClaimedAlarm>& alarms) {
  std::vector<std::string> classes, ids, due_us;
  for (const auto& a : alarms) {
    classes.push_back(a.class_name);
    ids.push_back(a.object_id);
    due_us.push_back(std::to_string(a.due_at));
  }
  return {text_array_literal(classes), text_array_literal(ids), text_array_literal(due_us)};
}

}  // namespace

std::size_t AlarmStore::record_failures(TimerId id, const std::vector<ClaimedAlarm>& alarms,
                                        const std::string& error, int max_retries,
                                        std::chrono::milliseconds base_backoff) {
  if (alarms.empty()) return 0;
  auto keys = fired_keys(alarms);
  return with_storage_errors(conn_, "recording alarm failures", [&] {
    pqxx::nontransaction tx(conn_);  // one statement: its own transaction
    return tx
        .exec_params1(std::string(R"sql(
      WITH locked AS ()sql") +
                          kLockFiredRows + R"sql(),
      buried AS (
        DELETE FROM dobj.alarms a
         WHERE a.ctid = ANY(ARRAY(SELECT row FROM locked WHERE retry_count >= $6))
        RETURNING a.class, a.id, a.due_at, a.retry_count + 1 AS retry_count, a.traceparent),
      dead AS (
        INSERT INTO dobj.dead_alarms(class, id, due_at, retry_count, last_error, traceparent)
        SELECT class, id, due_at, retry_count, $5, traceparent FROM buried),
      retried AS (
        UPDATE dobj.alarms a
           SET retry_count = a.retry_count + 1,
               next_attempt_at = now() + make_interval(secs => $7 * power(2, a.retry_count)),
               claimed_by = NULL, claimed_until = NULL, last_error = $5
         WHERE a.ctid = ANY(ARRAY(SELECT row FROM locked WHERE retry_count < $6)))
      SELECT count(*) FROM buried)sql",
                      id, keys.classes, keys.ids, keys.due_us, error, max_retries,
                      seconds(base_backoff))[0]
        .as<std::size_t>();
  });
}

void AlarmStore::postpone(TimerId id, const std::vector<ClaimedAlarm>& alarms,
                          std::chrono::milliseconds delay) {
  if (alarms.empty()) return;
  auto keys = fired_keys(alarms);
  with_storage_errors(conn_, "postponing alarms", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0(std::string(R"sql(
      UPDATE dobj.alarms a SET next_attempt_at = now() + make_interval(secs => $5),
                               claimed_by = NULL, claimed_until = NULL
       WHERE a.ctid = ANY(ARRAY(SELECT row FROM ()sql") +
                        kLockFiredRows + R"sql() l)))sql",
                    id, keys.classes, keys.ids, keys.due_us, seconds(delay));
  });
}

}  // namespace dobj::store
