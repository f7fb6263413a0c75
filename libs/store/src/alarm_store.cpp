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
    // The rows are found by the keys the timer holds (primary key lookups), not by claimed_by,
    // which has no index (one would make every claim a non-HOT update): a table of millions of
    // future alarms would cost every timer a scan a second.
    tx.exec_params0(
        "UPDATE dobj.alarms a SET claimed_until = now() + make_interval(secs => $2) "
        "FROM (SELECT al.class, al.id FROM unnest($3::text[], $4::text[]) AS u(c, i) "
        "      JOIN dobj.alarms al ON al.class = u.c AND al.id = u.i "
        "      WHERE al.claimed_by = $1 "
        "        AND al.claimed_until < now() + make_interval(secs => $2 / 2) "
        "      FOR UPDATE OF al SKIP LOCKED) s "
        "WHERE a.class = s.class AND a.id = s.id",
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

bool AlarmStore::record_failure(TimerId id, const ClaimedAlarm& alarm, const std::string& error,
                                int max_retries, std::chrono::milliseconds base_backoff) {
  return with_storage_errors(conn_, "recording an alarm failure", [&] {
    bool buried = false;
    pqxx::work tx(conn_);
    const char* match =
        "class = $1 AND id = $2 AND claimed_by = $3 "
        "AND due_at = timestamptz 'epoch' + $4 * interval '1 microsecond'";
    if (alarm.retry_count >= max_retries) {
      auto moved = tx.exec_params(std::string("DELETE FROM dobj.alarms WHERE ") + match +
                                      " RETURNING due_at, retry_count + 1, traceparent",
                                  alarm.class_name, alarm.object_id, id, alarm.due_at);
      if (!moved.empty()) {
        tx.exec_params0(
            "INSERT INTO dobj.dead_alarms(class, id, due_at, retry_count, last_error, traceparent) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            alarm.class_name, alarm.object_id, moved[0][0].c_str(), moved[0][1].as<int>(), error,
            moved[0][2].is_null() ? std::optional<std::string>() : moved[0][2].as<std::string>());
        buried = true;
      }
    } else {
      auto backoff_s = seconds(base_backoff) * static_cast<double>(1 << alarm.retry_count);
      tx.exec_params0(std::string("UPDATE dobj.alarms SET retry_count = retry_count + 1, "
                                  "next_attempt_at = now() + make_interval(secs => $5), "
                                  "claimed_by = NULL, claimed_until = NULL, last_error = $6 "
                                  "WHERE ") +
                          match,
                      alarm.class_name, alarm.object_id, id, alarm.due_at, backoff_s, error);
    }
    tx.commit();
    return buried;
  });
}

void AlarmStore::postpone(TimerId id, const ClaimedAlarm& alarm, std::chrono::milliseconds delay) {
  with_storage_errors(conn_, "postponing an alarm", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0(
        "UPDATE dobj.alarms SET next_attempt_at = now() + make_interval(secs => $5), "
        "claimed_by = NULL, claimed_until = NULL "
        "WHERE class = $1 AND id = $2 AND claimed_by = $3 "
        "AND due_at = timestamptz 'epoch' + $4 * interval '1 microsecond'",
        alarm.class_name, alarm.object_id, id, alarm.due_at, seconds(delay));
  });
}

}  // namespace dobj::store
