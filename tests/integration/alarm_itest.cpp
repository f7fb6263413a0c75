// Alarms end to end: dobj-worker, dobj-timer(s), real nats-server and PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/store/database.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

// Short retries so that seven failures fit in a test; the production default is 2 s doubling.
const std::vector<std::string> kFastTimer{"--backoff-ms", "50", "--scan-ms", "200"};

class AlarmTest : public StackTest {
 protected:
  void SetUp() override { record_events(); }
};

TEST_F(AlarmTest, LockExpiresThroughItsAlarm) {
  stack_.start_worker();
  stack_.start_timer(kFastTimer);
  EXPECT_EQ(call("Lock", "l", "acquire", {{"holder", "ada"}, {"ttl_ms", 300}}),
            Value({{"acquired", true}, {"holder", "ada"}}));
  EXPECT_EQ(call("Lock", "l", "acquire", {{"holder", "bob"}, {"ttl_ms", 300}}),
            Value({{"acquired", false}, {"holder", "ada"}}));
  EXPECT_GT(
      scalar("SELECT count(*) FROM dobj_admin.objects WHERE id = 'l' AND alarm_at IS NOT NULL"), 0);
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Lock.l.expired") == 1; }, 20s));
  EXPECT_EQ(bodies_on("evt.Lock.l.expired")[0], Value({{"holder", "ada"}}));
  EXPECT_EQ(call("Lock", "l", "holder"), Value({{"holder", nullptr}}));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.alarms"), 0);
  EXPECT_EQ(call("Lock", "l", "acquire", {{"holder", "bob"}, {"ttl_ms", 60000}})["acquired"], true);
  EXPECT_EQ(call("Lock", "l", "release", {{"holder", "bob"}}), Value({{"released", true}}));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.alarms"), 0);  // release deleted the alarm
}

TEST_F(AlarmTest, RateLimiterRefillsThroughItsAlarm) {
  stack_.start_worker();
  stack_.start_timer(kFastTimer);
  EXPECT_EQ(call("RateLimiter", "r", "configure", {{"capacity", 3}, {"refill_per_sec", 10}}),
            Value({{"tokens", 3}, {"capacity", 3}, {"refill_per_sec", 10}}));
  EXPECT_EQ(call("RateLimiter", "r", "take", {{"tokens", 3}}),
            Value({{"allowed", true}, {"remaining", 0}}));
  EXPECT_EQ(call("RateLimiter", "r", "take")["allowed"], false);
  // Only the alarm writes refills back (status computes them without storing): the stored
  // bucket full again, and no alarm left, prove the alarm did it.
  ASSERT_TRUE(wait_until(
      [&] {
        return scalar(
                   "SELECT (value->>'tokens')::int FROM dobj_admin.kv('RateLimiter', 'r') "
                   "WHERE key = 'bucket'") == 3 &&
               scalar("SELECT count(*) FROM dobj.alarms") == 0;
      },
      20s));
  EXPECT_EQ(call("RateLimiter", "r", "take")["allowed"], true);
  EXPECT_THROW(call("RateLimiter", "r", "take", {{"tokens", 0}}), Error);  // bad_request
}

TEST_F(AlarmTest, RescheduleDeleteAndAFailedTurnsAlarm) {
  stack_.start_worker();
  stack_.start_timer(kFastTimer);
  // Rescheduled twice from inside alarm(): fires three times.
  call("Scratch", "again", "alarm_plan", {{"reschedule_ms", 50}, {"reschedule_times", 2}});
  call("Scratch", "again", "set_alarm", {{"in_ms", 50}});
  // Deleted before due: never fires.
  call("Scratch", "deleted", "set_alarm", {{"in_ms", 300}});
  EXPECT_TRUE(call("Scratch", "deleted", "get_alarm").is_number());
  call("Scratch", "deleted", "delete_alarm");
  EXPECT_TRUE(call("Scratch", "deleted", "get_alarm").is_null());
  // Set by a turn that throws: never set.
  EXPECT_THROW(call("Scratch", "thrown", "set_alarm_then_throw", {{"in_ms", 50}}), Error);
  EXPECT_TRUE(call("Scratch", "thrown", "get_alarm").is_null());
  // Moved later before it fired: fires once, at the later time.
  call("Scratch", "moved", "set_alarm", {{"in_ms", 200}});
  call("Scratch", "moved", "set_alarm", {{"in_ms", 600}});

  ASSERT_TRUE(
      wait_until([&] { return call("Scratch", "again", "alarm_status")["fired"] == 3; }, 20s));
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.moved.alarm") == 1; }, 20s));
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.again.alarm") == 3; }, 20s));
  // Quiet for a while after everything due has fired: nothing more comes.
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM dobj.alarms") == 0; }, 20s));
  EXPECT_EQ(events_on("evt.Scratch.again.alarm"), 3u);
  EXPECT_EQ(events_on("evt.Scratch.moved.alarm"), 1u);
  EXPECT_EQ(events_on("evt.Scratch.deleted.alarm"), 0u);
  EXPECT_EQ(events_on("evt.Scratch.thrown.alarm"), 0u);
  EXPECT_TRUE(call("Scratch", "again", "alarm_status")["alarm"].is_null());
}

TEST_F(AlarmTest, RetriesCarryTheirCountAndTheSeventhFailureIsDead) {
  stack_.start_worker();
  stack_.start_timer(kFastTimer);
  call("Scratch", "flaky", "alarm_plan", {{"fail_until_retry", 2}});
  call("Scratch", "flaky", "set_alarm", {{"in_ms", 10}});
  call("Scratch", "doomed", "alarm_plan", {{"fail_until_retry", 100}});
  call("Scratch", "doomed", "set_alarm", {{"in_ms", 10}});
  ASSERT_TRUE(
      wait_until([&] { return call("Scratch", "flaky", "alarm_status")["fired"] == 1; }, 20s));
  EXPECT_EQ(call("Scratch", "flaky", "alarm_status")["last_retry_count"], 2);
  // The event and the status reply come in on two subscriptions, each with its own cnats
  // delivery thread: the reply can be handled first.
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.flaky.alarm") == 1; }, 20s));
  EXPECT_EQ(bodies_on("evt.Scratch.flaky.alarm")[0],
            Value({{"retry_count", 2}, {"is_retry", true}}));
  // 1 + 6 retries = 7 failures, then dobj.dead_alarms (50 ms doubling: about 6 s).
  ASSERT_TRUE(wait_until(
      [&] {
        return scalar("SELECT count(*) FROM dobj_admin.dead_alarms WHERE id = 'doomed'") == 1;
      },
      60s));
  EXPECT_EQ(scalar("SELECT retry_count FROM dobj.dead_alarms WHERE id = 'doomed'"), 7);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.alarms WHERE id = 'doomed'"), 0);
  EXPECT_EQ(events_on("evt.Scratch.doomed.alarm"), 0u);
}

TEST_F(AlarmTest, EveryAlarmFiresAfterTheTimerAndTheWorkerAreKilled) {
  auto* worker = &stack_.start_worker();
  auto* timer = &stack_.start_timer(kFastTimer);
  constexpr int kObjects = 50;
  for (int i = 0; i < kObjects; ++i) {
    call("Scratch", "k" + std::to_string(i), "set_alarm", {{"in_ms", 3000 + 20 * i}});
  }
  // The timer has claimed the near ones into memory; both die before anything is due.
  timer->process().signal(SIGKILL);
  worker->process().signal(SIGKILL);
  timer->process().wait(10s);
  worker->process().wait(10s);
  stack_.start_worker();
  stack_.start_timer({"--backoff-ms", "50", "--scan-ms", "200", "--lease-ttl-ms", "2000"});
  // Events leave after the commit that deleted the row: wait for them, not for the table.
  auto all_fired = [&] {
    for (int i = 0; i < kObjects; ++i) {
      if (events_on("evt.Scratch.k" + std::to_string(i) + ".alarm") == 0) return false;
    }
    return true;
  };
  ASSERT_TRUE(wait_until(all_fired, 60s));
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM dobj.alarms") == 0; }, 10s));
}

// The timer's database work (renewals, claim scans, outcomes) waits on PostgreSQL at times; an
// alarm it holds must fire on time all the same.
TEST_F(AlarmTest, AnAlarmInHandFiresWhileTheTimersDatabaseWorkWaits) {
  stack_.start_worker();
  stack_.start_timer({"--scan-ms", "200"});
  // Within the claim window, and late enough to claim it and stall the timer before it is due.
  call("Scratch", "held", "set_alarm", {{"in_ms", 4000}});
  ASSERT_TRUE(wait_until(
      [&] {
        return scalar(
                   "SELECT count(*) FROM dobj.alarms "
                   "WHERE id = 'held' AND claimed_by IS NOT NULL") == 1;
      },
      10s));
  // The timer's own row held: its next heartbeat (every second) waits for this transaction.
  auto blocker = store::connect(stack_.database_url());
  pqxx::work lock_tx(*blocker);
  lock_tx.exec("SELECT 1 FROM dobj.timers WHERE state <> 'stopped' FOR UPDATE");
  ASSERT_GT(stack_.wait_for_lock_waiter(10s), 0);
  // Which statement waits: the alarm must fire while this very one still does (a timer that
  // fired only after its statement timed out would fire late, between two waits).
  auto waiting_statement = [&] {
    return scalar(
        "SELECT coalesce(max((extract(epoch FROM query_start) * 1000000)::bigint), 0) "
        "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
  };
  auto waiting = waiting_statement();
  ASSERT_EQ(events_on("evt.Scratch.held.alarm"), 0u) << "due before the timer waited";
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.held.alarm") == 1; }, 15s));
  EXPECT_EQ(waiting_statement(), waiting);
  lock_tx.abort();
  // The loop goes on (renewed, or registered anew if its lease ran out) and claims again.
  call("Scratch", "after", "set_alarm", {{"in_ms", 100}});
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.after.alarm") == 1; }, 20s));
}

TEST_F(AlarmTest, TwoTimersFireFourThousandAlarmsExactlyOnce) {
  // Enough that both timers take a share of each instant's batch; the bench fires 100,000.
  constexpr int kAlarms = 4000;
  constexpr int kSetters = 8;
  stack_.start_worker();
  stack_.start_timer();
  stack_.start_timer();
  // All due within the same two seconds, a few seconds from now.
  auto base_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count() +
                 8000;
  std::vector<std::thread> setters;
  std::atomic<int> failures{0};
  for (int t = 0; t < kSetters; ++t) {
    setters.emplace_back([&, t] {
      NatsConnection nats({stack_.nats().client_url(), "setter", true});
      Client client(nats);
      for (int i = t; i < kAlarms; i += kSetters) {
        // set_alarm to a fixed time is idempotent: a timed-out call may be retried.
        CallOptions retry_timeouts;
        retry_timeouts.idempotency_key = "x" + std::to_string(i);
        try {
          client.call("Scratch", "x" + std::to_string(i), "set_alarm",
                      {{"at_ms", base_ms + (i * 2000) / kAlarms}}, retry_timeouts);
        } catch (const Error& e) {
          ADD_FAILURE() << to_string(e.code()) << ": " << e.what();
          ++failures;
        }
      }
    });
  }
  for (auto& t : setters) t.join();
  ASSERT_EQ(failures, 0);
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM dobj.alarms") == 0; }, 120s));
  // The timers together fired exactly kAlarms requests, and each object saw its alarm once.
  // Counts are reported with each heartbeat; a loaded machine may delay a few.
  ASSERT_TRUE(
      wait_until([&] { return scalar("SELECT sum(fired) FROM dobj.timers") >= kAlarms; }, 30s))
      << scalar("SELECT sum(fired) FROM dobj.timers") << "\n"
      << stack_.worker_logs();
  EXPECT_EQ(scalar("SELECT sum(fired) FROM dobj.timers"), kAlarms);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.timers WHERE fired > 0"), 2);  // both took a share
  ASSERT_TRUE(wait_until(
      [&] {
        auto all = events();
        return std::count_if(all.begin(), all.end(), [](const NatsMessage& m) {
                 return m.subject.starts_with("evt.Scratch.x");
               }) >= kAlarms;
      },
      10s));
  std::map<std::string, int> per_object;
  for (const auto& m : events()) {
    if (m.subject.starts_with("evt.Scratch.x")) ++per_object[m.subject];
  }
  EXPECT_EQ(per_object.size(), static_cast<std::size_t>(kAlarms));
  for (const auto& [subject, n] : per_object) EXPECT_EQ(n, 1) << subject;
}

// More alarms due at once than the timer may hold: each reply that frees room lets it claim
// more, so the burst never waits for the backstop scan (a minute here; a refill per scan
// interval left the workers idle for most of a 100,000-alarm burst).
TEST_F(AlarmTest, ABurstBeyondMaxInFlightIsClaimedAsRepliesFreeRoom) {
  constexpr int kAlarms = 400;
  stack_.start_worker();
  stack_.start_timer({"--max-in-flight", "50", "--scan-ms", "60000"});
  auto due_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count() +
                2000;
  for (int i = 0; i < kAlarms; ++i) {
    call("Scratch", "b" + std::to_string(i), "set_alarm", {{"at_ms", due_ms}});
  }
  auto fired = [&] {
    auto all = events();
    return std::count_if(all.begin(), all.end(), [](const NatsMessage& m) {
      return m.subject.starts_with("evt.Scratch.b");
    });
  };
  // Eight refills by scan alone would take eight minutes.
  ASSERT_TRUE(wait_until([&] { return fired() >= kAlarms; }, 30s))
      << fired() << " of " << kAlarms << " fired\n"
      << stack_.worker_logs();
  EXPECT_EQ(fired(), kAlarms);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.alarms"), 0);
}

}  // namespace
}  // namespace dobj::testing
