#include "dobj/store/retention.hpp"

#include <gtest/gtest.h>

#include "dobj/store/database.hpp"
#include "dobj/store/object_store.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/worker_registry.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::store {
namespace {

using namespace std::chrono_literals;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = connect(testing::PostgresServer::shared().create_database(true));
  }
  std::int64_t scalar(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }
  void exec(const std::string& sql) { pqxx::nontransaction(*conn_).exec0(sql); }

  std::unique_ptr<pqxx::connection> conn_;
};

// A worker gone longer than the retention goes, and what still named it as owner is freed;
// a worker gone a little while stays (dobj_admin.workers shows recent departures).
TEST_F(RetentionTest, DepartedWorkersGoAfterTheirRetentionAndFreeWhatTheyOwned) {
  WorkerRegistry registry(*conn_);
  auto old_worker = registry.register_worker({"old", 1, "t"}, 60s);
  PartitionTable(*conn_).claim_fair_share(old_worker);
  ASSERT_TRUE(ObjectStore(*conn_, old_worker).claim("Counter", "c1", 5));
  auto recent = registry.register_worker({"recent", 2, "t"}, 60s);
  auto live = registry.register_worker({"live", 3, "t"}, 60s);
  exec("UPDATE dobj.workers SET lease_until = now() - interval '8 days' WHERE id = " +
       std::to_string(old_worker));
  exec(
      "UPDATE dobj.workers SET lease_until = now() - interval '1 day', state = 'stopped' "
      "WHERE id = " +
      std::to_string(recent));

  EXPECT_EQ(prune_departed_workers(*conn_, 7 * 24h, 100), 1u);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.workers"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.workers WHERE id = " + std::to_string(live)), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.partitions WHERE owner IS NOT NULL"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL"), 0);
  // The freed object is claimed again as usual, with a higher epoch.
  PartitionTable(*conn_).claim_fair_share(live);
  auto lease = ObjectStore(*conn_, live).claim("Counter", "c1", 5);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->epoch, 2);
  EXPECT_EQ(prune_departed_workers(*conn_, 7 * 24h, 100), 0u);
  EXPECT_EQ(prune_departed_workers(*conn_, 1h, 100), 1u);  // a shorter retention takes `recent`
}

TEST_F(RetentionTest, DepartedTimersAndDeadAlarmsGoAfterTheirRetention) {
  exec(
      "INSERT INTO dobj.timers (host, pid, version, lease_until) VALUES "
      "('old', 1, 't', now() - interval '8 days'), ('new', 2, 't', now() - interval '1 hour'), "
      "('live', 3, 't', now() + interval '1 minute')");
  exec(
      "INSERT INTO dobj.dead_alarms (class, id, due_at, retry_count, died_at) VALUES "
      "('Lock', 'a', now(), 5, now() - interval '31 days'), "
      "('Lock', 'b', now(), 5, now() - interval '1 day')");
  EXPECT_EQ(prune_departed_timers(*conn_, 7 * 24h, 100), 1u);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.timers"), 2);
  EXPECT_EQ(prune_dead_alarms(*conn_, 30 * 24h, 100), 1u);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.dead_alarms WHERE id = 'b'"), 1);
}

}  // namespace
}  // namespace dobj::store
