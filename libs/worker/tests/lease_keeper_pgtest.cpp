#include "lease_keeper.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "dobj/store/database.hpp"
#include "dobj/store/storage_shards.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj {
namespace {

using namespace std::chrono_literals;

const store::WorkerInfo kInfo{"t", 1, "t"};

struct Recorder {
  std::vector<int> owned;
  std::vector<int> leaving;
  std::vector<int> handed_over;
  std::vector<store::WorkerId> joined;
  std::atomic<int> lost{0};
  bool drained = false;
  std::function<void()> on_handing_over = [] {};
  LeaseKeeper::Callbacks callbacks() {
    return {
        [this] { ++lost; },
        [this](store::WorkerId id) { joined.push_back(id); },
        [this](const std::vector<int>& ps) { leaving.insert(leaving.end(), ps.begin(), ps.end()); },
        [this](const std::vector<int>& ps) {
          on_handing_over();
          handed_over.insert(handed_over.end(), ps.begin(), ps.end());
        },
        [this](const std::vector<int>& o) { owned = o; },
        [this] { drained = true; }};
  }
};

class LeaseKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresServer::shared().create_database(true);
    conn_ = store::connect(url_);
  }
  store::WorkerId register_worker(std::chrono::milliseconds ttl) {
    return store::WorkerRegistry(*conn_).register_worker(kInfo, ttl);
  }
  std::int64_t query(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  ManualClock clock_;
};

TEST_F(LeaseKeeperTest, ValidityFollowsTheVirtualClockAndRenewals) {
  LeaseKeeper::Config config{10s, 1s};
  auto id = register_worker(config.ttl);
  Recorder rec;
  LeaseKeeper keeper(url_, "", kInfo, config, clock_, rec.callbacks());
  keeper.start(id, clock_.now());
  EXPECT_EQ(rec.owned.size(), 256u);
  // Valid for ttl minus the safety tenth from the last renewal, by the local clock only.
  clock_.advance(8s);
  EXPECT_TRUE(keeper.valid(id));
  EXPECT_FALSE(keeper.valid(id + 1));
  clock_.advance(1s + 1ms);
  EXPECT_FALSE(keeper.valid(id));
  keeper.step();
  EXPECT_TRUE(keeper.valid(id));
  keeper.stop();
}

TEST_F(LeaseKeeperTest, AnExpiredLeaseIsLostThenTheWorkerRegistersAnewAndClaimsAgain) {
  auto id = register_worker(10s);
  Recorder rec;
  LeaseKeeper keeper(url_, "", kInfo, {10s, 1s}, clock_, rec.callbacks());
  keeper.start(id, clock_.now());
  keeper.stop();  // rounds by hand from here
  query("UPDATE dobj.workers SET lease_until = now() - interval '1 second' RETURNING 1");
  keeper.step();
  EXPECT_EQ(rec.lost, 1);
  EXPECT_FALSE(keeper.valid(id));
  keeper.step();
  ASSERT_EQ(rec.joined.size(), 1u);
  auto fresh = rec.joined[0];
  EXPECT_NE(fresh, id);
  EXPECT_TRUE(keeper.valid(fresh));
  EXPECT_FALSE(keeper.valid(id));
  EXPECT_EQ(rec.owned.size(), 256u);
  EXPECT_EQ(query("SELECT count(*) FROM dobj.partition_log WHERE event = 'taken_over' AND "
                  "previous_owner = " +
                  std::to_string(id)),
            256);
}

// A worker of a storage shard claims only that shard's partitions, shares them only with that
// shard's workers, and mirrors its lease and its partitions into the shard, where claims and
// fencing read them; the control database's own partitions are left to its own workers.
TEST_F(LeaseKeeperTest, AShardWorkerClaimsItsShardsPartitionsAndMirrorsItsLeaseThere) {
  auto shard_url = testing::PostgresServer::shared().create_database(true);
  auto shard = store::connect(shard_url);
  store::add_storage_shard(*conn_, {"s1", shard_url}, {"s1", 0, 127});
  auto on_shard = [&](const std::string& sql) {
    pqxx::nontransaction tx(*shard);
    return tx.exec1(sql)[0].as<std::int64_t>();
  };
  auto info = kInfo;
  info.storage_shard = "s1";
  auto a = store::WorkerRegistry(*conn_).register_worker(info, 10s);
  Recorder rec_a;
  LeaseKeeper keeper_a(url_, shard_url, info, {10s, 1s}, clock_, rec_a.callbacks());
  keeper_a.start(a, clock_.now());
  keeper_a.stop();
  ASSERT_EQ(rec_a.owned.size(), 128u);
  EXPECT_EQ(rec_a.owned.back(), 127);
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.workers WHERE id = " + std::to_string(a) +
                     " AND lease_until > now() + interval '5 seconds'"),
            1);
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.partitions WHERE owner = " + std::to_string(a)),
            128);
  // The control database's epochs, copied.
  EXPECT_EQ(on_shard("SELECT sum(epoch) FROM dobj.partitions WHERE p < 128"),
            query("SELECT sum(epoch) FROM dobj.partitions WHERE p < 128"));

  // A second worker of the shard takes half; the first hands it over, and the shard learns.
  auto b = store::WorkerRegistry(*conn_).register_worker(info, 10s);
  Recorder rec_b;
  LeaseKeeper keeper_b(url_, shard_url, info, {10s, 1s}, clock_, rec_b.callbacks());
  keeper_b.start(b, clock_.now());
  keeper_b.stop();
  keeper_a.step();
  keeper_a.finish_handovers();
  keeper_b.step();
  EXPECT_EQ(rec_b.owned.size(), 64u);
  keeper_a.step();
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.partitions WHERE owner = " + std::to_string(a)),
            64);
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.partitions WHERE owner = " + std::to_string(b)),
            64);

  // A's lease ran out on the shard (it was paused, say): the copy is never extended again, A
  // loses its lease and comes back under a new id, which the shard learns.
  on_shard("UPDATE dobj.workers SET lease_until = now() - interval '1 second' WHERE id = " +
           std::to_string(a) + " RETURNING 1");
  keeper_a.step();
  EXPECT_EQ(rec_a.lost, 1);
  EXPECT_FALSE(keeper_a.valid(a));
  keeper_a.step();
  ASSERT_EQ(rec_a.joined.size(), 1u);
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.workers WHERE lease_until > now() AND id = " +
                     std::to_string(rec_a.joined[0])),
            1);
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.workers WHERE lease_until > now() AND id = " +
                     std::to_string(a)),
            0);

  // A control-database worker takes the rest, all 128, alone.
  auto c = register_worker(10s);
  Recorder rec_c;
  LeaseKeeper keeper_c(url_, "", kInfo, {10s, 1s}, clock_, rec_c.callbacks());
  keeper_c.start(c, clock_.now());
  keeper_c.stop();
  ASSERT_EQ(rec_c.owned.size(), 128u);
  EXPECT_EQ(rec_c.owned.front(), 128);
  EXPECT_EQ(query("SELECT count(*) FROM dobj.partitions WHERE owner IS NULL"), 0);
}

TEST_F(LeaseKeeperTest, AJoiningWorkerGetsTheExcessHandedOverToIt) {
  auto a = register_worker(10s);
  Recorder rec_a, rec_b;
  LeaseKeeper keeper_a(url_, "", kInfo, {10s, 1s}, clock_, rec_a.callbacks());
  keeper_a.start(a, clock_.now());
  keeper_a.stop();
  ASSERT_EQ(rec_a.owned.size(), 256u);
  auto b = register_worker(10s);
  LeaseKeeper keeper_b(url_, "", kInfo, {10s, 1s}, clock_, rec_b.callbacks());
  keeper_b.start(b, clock_.now());
  keeper_b.stop();
  EXPECT_TRUE(rec_b.owned.empty());  // nothing is free until a hands over
  keeper_a.step();
  EXPECT_EQ(rec_a.leaving.size(), 128u);
  keeper_a.finish_handovers();
  EXPECT_EQ(rec_a.handed_over, rec_a.leaving);
  EXPECT_EQ(rec_a.handed_over.size(), 128u);
  EXPECT_EQ(rec_a.owned.size(), 128u);
  EXPECT_EQ(rec_a.handed_over.front(), 128);  // the highest-numbered go
  keeper_b.step();
  EXPECT_EQ(rec_b.owned, rec_a.handed_over);
  EXPECT_EQ(query("SELECT count(*) FROM dobj.partition_log WHERE event = 'released'"), 128);
}

TEST_F(LeaseKeeperTest, ADrainHandsEverythingBackThenReportsDrained) {
  auto a = register_worker(10s);
  Recorder rec;
  LeaseKeeper keeper(url_, "", kInfo, {10s, 1s}, clock_, rec.callbacks());
  keeper.start(a, clock_.now());
  keeper.stop();
  EXPECT_FALSE(store::WorkerRegistry(*conn_).request_drain(a + 100));
  EXPECT_TRUE(store::WorkerRegistry(*conn_).request_drain(a));
  keeper.step();
  EXPECT_TRUE(rec.owned.empty());
  EXPECT_FALSE(rec.drained);  // handed over, not yet released
  keeper.finish_handovers();
  EXPECT_EQ(rec.handed_over.size(), 256u);
  keeper.step();
  EXPECT_TRUE(rec.drained);
  EXPECT_EQ(query("SELECT count(*) FROM dobj.partitions WHERE owner IS NOT NULL"), 0);
}

// The heartbeat does only the heartbeat: a handover whose shards take three lease times to finish
// never lets the lease lapse, and the partitions are released once they have finished.
TEST_F(LeaseKeeperTest, ASlowHandoverNeverCostsTheLease) {
  LeaseKeeper::Config config{600ms, 100ms};
  auto a = register_worker(config.ttl);
  Recorder rec_a;
  std::atomic<bool> finishing{false};
  std::atomic<bool> release{false};
  rec_a.on_handing_over = [&] {
    finishing = true;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!release && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
  };
  LeaseKeeper keeper_a(url_, "", kInfo, config, Clock::system(), rec_a.callbacks());
  keeper_a.start(a, Clock::system().now());
  auto b = register_worker(10s);
  Recorder rec_b;
  LeaseKeeper keeper_b(url_, "", kInfo, {10s, 1s}, clock_, rec_b.callbacks());
  keeper_b.start(b, clock_.now());
  keeper_b.stop();
  auto wait_for = [](auto&& condition) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return condition();
  };
  ASSERT_TRUE(wait_for([&] { return finishing.load(); }));
  // Three lease times while the shards "finish": the lease stays valid all along.
  auto until = std::chrono::steady_clock::now() + 3 * config.ttl;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(keeper_a.valid(a));
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(rec_a.lost, 0);
  EXPECT_EQ(query("SELECT count(*) FROM dobj.partitions WHERE owner = " + std::to_string(a)), 256);
  release = true;
  ASSERT_TRUE(wait_for([&] {
    return query("SELECT count(*) FROM dobj.partitions WHERE owner = " + std::to_string(a)) == 128;
  }));
  keeper_a.stop();
}

// A renewal stuck on a database that does not answer cannot keep the worker receiving: the
// watchdog reports the lease lost by the local clock alone.
TEST_F(LeaseKeeperTest, TheWatchdogFencesByTheLocalClockWhileTheHeartbeatIsStuck) {
  auto id = register_worker(10s);
  Recorder rec;
  LeaseKeeper keeper(url_, "", kInfo, {10s, 1s}, clock_, rec.callbacks());
  keeper.start(id, clock_.now());
  keeper.stop();  // by hand from here: no renewal happens
  keeper.check_expiry();
  EXPECT_EQ(rec.lost, 0);
  clock_.advance(9s + 1ms);
  keeper.check_expiry();
  EXPECT_EQ(rec.lost, 1);
  keeper.check_expiry();
  EXPECT_EQ(rec.lost, 1);  // once per lease
  // The database still knows the worker: the next round renews and serves again.
  rec.owned.clear();
  keeper.step();
  EXPECT_TRUE(keeper.valid(id));
  EXPECT_EQ(rec.owned.size(), 256u);
  EXPECT_EQ(rec.lost, 1);
}

}  // namespace
}  // namespace dobj
