#include "dobj/store/alarm_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>

#include "dobj/store/database.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::store {
namespace {

using namespace std::chrono_literals;

class AlarmStoreTest : public ::testing::Test {
 protected:
  // Two due alarms (Lock a and b), both claimed by one timer for `claim_ttl`.
  void claim_two_alarms(std::chrono::milliseconds claim_ttl) {
    ASSERT_EQ(claimed_two(claim_ttl).size(), 2u);
  }

  // The claimed alarms of claim_two_alarms, a first and b second.
  std::vector<ClaimedAlarm> claimed_two(std::chrono::milliseconds claim_ttl) {
    pqxx::nontransaction(*conn_).exec0(
        "INSERT INTO dobj.objects (class, id, p, epoch) VALUES ('Lock', 'a', 1, 1), "
        "('Lock', 'b', 2, 1);"
        "INSERT INTO dobj.alarms (class, id, due_at) VALUES ('Lock', 'a', now()), "
        "('Lock', 'b', now())");
    timer_ = store_.register_timer({"t", 1, "t"}, kTimerLease);
    auto claimed = store_.claim_due(timer_, 5s, 10, claim_ttl);
    std::sort(claimed.begin(), claimed.end(),
              [](const auto& x, const auto& y) { return x.object_id < y.object_id; });
    return claimed;
  }
  // One column of an alarm's row, as text ("" for NULL, "gone" without a row).
  std::string alarm_field(const char* id, const std::string& expression) {
    auto rows = pqxx::nontransaction(*conn_).exec(
        "SELECT coalesce((" + expression + ")::text, '') FROM dobj.alarms WHERE id = '" + id + "'");
    return rows.empty() ? "gone" : rows[0][0].as<std::string>();
  }

  static constexpr std::chrono::milliseconds kTimerLease{60'000};
  const std::vector<AlarmKey> kBothHeld{{"Lock", "a"}, {"Lock", "b"}};
  std::string url_ = testing::PostgresServer::shared().create_database(true);
  std::unique_ptr<pqxx::connection> conn_ = connect(url_);
  AlarmStore store_{*conn_};
  TimerId timer_ = 0;
};

// A worker's commit that deletes or resets a fired alarm holds its row while the timer renews its
// claims. The renewal must neither wait for it nor deadlock with it: before, both locked the
// same rows in different orders, PostgreSQL killed the renewal every second, and both timers lost
// their leases and dropped every alarm they held (AlarmTest.TwoTimersFire…, seen in CI).
TEST_F(AlarmStoreTest, RenewingClaimsSkipsARowACommitHolds) {
  claim_two_alarms(1s);
  auto worker = connect(url_);
  pqxx::work commit(*worker);
  commit.exec("SELECT 1 FROM dobj.alarms WHERE id = 'a' FOR UPDATE");
  auto renewed =
      std::async(std::launch::async, [&] { return store_.renew(timer_, 30s, kBothHeld); });
  ASSERT_EQ(renewed.wait_for(5s), std::future_status::ready) << "the renewal waited for the commit";
  EXPECT_TRUE(renewed.get());
  commit.abort();
  pqxx::nontransaction tx(*conn_);
  EXPECT_EQ(
      tx.exec1("SELECT count(*) FROM dobj.alarms WHERE id = 'b' AND claimed_by = " +
               std::to_string(timer_) + " AND claimed_until > now() + interval '20 seconds'")[0]
          .as<int>(),
      1);
}

// Claims with more than half their TTL left are not written again (a held alarm's row used to be
// rewritten every second); those closer to running out are extended to a full TTL.
TEST_F(AlarmStoreTest, RenewingExtendsOnlyClaimsPastHalfTheirTtl) {
  claim_two_alarms(60s);
  pqxx::nontransaction(*conn_).exec0(
      "UPDATE dobj.alarms SET claimed_until = now() + interval '10 seconds' WHERE id = 'b'");
  auto until = [&](const char* id) {
    return pqxx::nontransaction(*conn_)
        .exec1(std::string("SELECT claimed_until::text FROM dobj.alarms WHERE id = '") + id +
               "'")[0]
        .as<std::string>();
  };
  auto a_before = until("a");
  ASSERT_TRUE(store_.renew(timer_, 60s, kBothHeld));
  EXPECT_EQ(until("a"), a_before);  // 60 s left: untouched
  auto b_left = pqxx::nontransaction(*conn_)
                    .exec1(
                        "SELECT extract(epoch FROM claimed_until - now()) FROM dobj.alarms "
                        "WHERE id = 'b'")[0]
                    .as<double>();
  EXPECT_GT(b_left, 50);  // 10 s left: extended to 60 s from now
}

// The timer names the claims it holds; one it no longer holds is left to expire (and to be
// claimed again), and no other row is read.
TEST_F(AlarmStoreTest, RenewingExtendsOnlyTheClaimsTheTimerNames) {
  claim_two_alarms(1s);
  ASSERT_TRUE(store_.renew(timer_, 60s, {{"Lock", "b"}}));
  auto extended = [&](const char* id) {
    return pqxx::nontransaction(*conn_)
        .exec1(std::string("SELECT claimed_until > now() + interval '30 seconds' "
                           "FROM dobj.alarms WHERE id = '") +
               id + "'")[0]
        .as<bool>();
  };
  EXPECT_FALSE(extended("a"));
  EXPECT_TRUE(extended("b"));
  EXPECT_TRUE(store_.renew(timer_, 60s, {}));  // nothing in hand: the lease alone
}

// A burst's failures go in one statement: an alarm with retries left is given back with its
// count up, its error and its backoff; one out of retries moves to dobj.dead_alarms.
TEST_F(AlarmStoreTest, FailuresAreRetriedWithBackoffOrBuriedInOneCall) {
  auto claimed = claimed_two(60s);
  ASSERT_EQ(claimed.size(), 2u);
  pqxx::nontransaction(*conn_).exec0("UPDATE dobj.alarms SET retry_count = 6 WHERE id = 'b'");
  EXPECT_EQ(store_.record_failures(timer_, claimed, "boom 'b'", /*max_retries=*/6, 2s), 1u);
  EXPECT_EQ(alarm_field("a", "retry_count"), "1");
  EXPECT_EQ(alarm_field("a", "last_error"), "boom 'b'");
  EXPECT_EQ(alarm_field("a", "claimed_by"), "");
  EXPECT_EQ(alarm_field("a", "next_attempt_at - now() BETWEEN interval '1 s' AND interval '2 s'"),
            "true");
  EXPECT_EQ(alarm_field("b", "id"), "gone");
  auto dead =
      pqxx::nontransaction(*conn_).exec("SELECT id, retry_count, last_error FROM dobj.dead_alarms");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0][0].as<std::string>(), "b");
  EXPECT_EQ(dead[0][1].as<int>(), 7);
  EXPECT_EQ(dead[0][2].as<std::string>(), "boom 'b'");
}

// Only the row that was fired changes: an object that set another time since keeps it, and a
// row another timer claimed is not this timer's to give back.
TEST_F(AlarmStoreTest, AFailureLeavesAnAlarmSetAgainOrClaimedElsewhere) {
  auto claimed = claimed_two(60s);
  ASSERT_EQ(claimed.size(), 2u);
  pqxx::nontransaction(*conn_).exec0(
      "UPDATE dobj.alarms SET due_at = due_at + interval '1 hour' WHERE id = 'a';"
      "UPDATE dobj.alarms SET claimed_by = claimed_by + 1 WHERE id = 'b'");
  EXPECT_EQ(store_.record_failures(timer_, claimed, "x", 0, 2s), 0u);
  store_.postpone(timer_, claimed, 1s);
  for (const char* id : {"a", "b"}) {
    EXPECT_EQ(alarm_field(id, "retry_count"), "0") << id;
    EXPECT_EQ(alarm_field(id, "next_attempt_at"), "") << id;
  }
}

// A worker's commit holding a fired alarm's row is deleting or resetting it: recording a failure
// or postponing skips that row instead of waiting for it (waiting for rows in another order than
// the commit's deadlocked, as renewals did), and gives back the rest.
TEST_F(AlarmStoreTest, FailuresAndPostponementsSkipARowACommitHolds) {
  auto claimed = claimed_two(60s);
  ASSERT_EQ(claimed.size(), 2u);
  auto worker = connect(url_);
  pqxx::work commit(*worker);
  commit.exec("SELECT 1 FROM dobj.alarms WHERE id = 'a' FOR UPDATE");
  auto recorded = std::async(std::launch::async, [&] {
    store_.record_failures(timer_, {claimed[0]}, "x", 6, 2s);
    store_.postpone(timer_, claimed, 1s);
  });
  ASSERT_EQ(recorded.wait_for(5s), std::future_status::ready) << "it waited for the commit";
  recorded.get();
  commit.abort();
  EXPECT_EQ(alarm_field("a", "retry_count"), "0");
  EXPECT_EQ(alarm_field("a", "claimed_by"), std::to_string(timer_));
  EXPECT_EQ(alarm_field("b", "claimed_by"), "");
  EXPECT_EQ(alarm_field("b", "next_attempt_at IS NOT NULL"), "true");
}

// Statistics taken while no alarm was claimed say "no row has this claimed_by". Renewing the
// claims, recording failures and postponing must still look each alarm up by its key: with the
// claimant as a join filter, the planner scanned dobj.alarms once per alarm named (as the group
// commit did with dobj.objects). Counted: the rows each reads.
TEST_F(AlarmStoreTest, ClaimsAreRenewedAndGivenBackByKeyWhateverTheStatisticsSay) {
  testing::fill_and_freeze_statistics(
      *conn_, "dobj.alarms",
      "INSERT INTO dobj.objects (class, id, p, epoch) "
      "  SELECT 'Lock', 'o' || i, i % 256, 1 FROM generate_series(1, 20000) i;"
      "INSERT INTO dobj.alarms (class, id, due_at) "
      "  SELECT 'Lock', 'o' || i, now() + interval '1 hour' FROM generate_series(1, 20000) i;"
      "UPDATE dobj.alarms SET due_at = now() WHERE id IN "
      "  (SELECT 'o' || i FROM generate_series(1, 300) i)");
  timer_ = store_.register_timer({"t", 1, "t"}, kTimerLease);
  auto claimed = store_.claim_due(timer_, 5s, 1000, 1s);
  ASSERT_EQ(claimed.size(), 300u);
  std::vector<AlarmKey> held;
  for (const auto& a : claimed) held.push_back({a.class_name, a.object_id});
  // At most two rows read a key: the lookup, then the change by ctid.
  auto rows_read = [&] { return testing::rows_read(*conn_, "dobj.alarms"); };
  auto before = rows_read();
  ASSERT_TRUE(store_.renew(timer_, 60s, held));
  EXPECT_LE(rows_read() - before, 2 * 300) << "renewing read dobj.alarms beyond its keys";
  before = rows_read();
  store_.postpone(timer_, {claimed.begin(), claimed.begin() + 100}, 0s);
  EXPECT_LE(rows_read() - before, 2 * 100) << "postponing read dobj.alarms beyond its keys";
  before = rows_read();
  EXPECT_EQ(
      store_.record_failures(timer_, {claimed.begin() + 100, claimed.end()}, "timeout", 6, 2s), 0u);
  EXPECT_LE(rows_read() - before, 2 * 200) << "recording failures read dobj.alarms beyond its keys";
  pqxx::nontransaction tx(*conn_);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dobj.alarms WHERE claimed_by IS NOT NULL")[0].as<int>(),
            0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dobj.alarms WHERE retry_count = 1")[0].as<int>(), 200);
}

}  // namespace
}  // namespace dobj::store
