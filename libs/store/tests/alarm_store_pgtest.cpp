#include "dobj/store/alarm_store.hpp"

#include <gtest/gtest.h>

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
    pqxx::nontransaction(*conn_).exec0(
        "INSERT INTO dobj.objects (class, id, p, epoch) VALUES ('Lock', 'a', 1, 1), "
        "('Lock', 'b', 2, 1);"
        "INSERT INTO dobj.alarms (class, id, due_at) VALUES ('Lock', 'a', now()), "
        "('Lock', 'b', now())");
    timer_ = store_.register_timer({"t", 1, "t"}, kTimerLease);
    ASSERT_EQ(store_.claim_due(timer_, 5s, 10, claim_ttl).size(), 2u);
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

}  // namespace
}  // namespace dobj::store
