#include "lease_keeper.hpp"

#include <gtest/gtest.h>

#include "dobj/store/database.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj {
namespace {

using namespace std::chrono_literals;

struct Recorder {
  std::vector<int> owned;
  int lost = 0;
  LeaseKeeper::Callbacks callbacks() {
    return {[this](const std::vector<int>& o) { owned = o; }, [this] { ++lost; }};
  }
};

TEST(LeaseKeeper, ValidityFollowsTheVirtualClockAndRenewals) {
  auto url = testing::PostgresServer::shared().create_database(true);
  auto conn = store::connect(url);
  ManualClock clock;
  LeaseKeeper::Config config{10s, 1s};
  auto id = store::WorkerRegistry(*conn).register_worker({"t", 1, "t"}, config.ttl);
  Recorder rec;
  LeaseKeeper keeper(url, id, config, clock, rec.callbacks());
  keeper.step();
  EXPECT_EQ(rec.owned.size(), 256u);
  // Valid for ttl minus the safety tenth from the last renewal, by the local clock only.
  clock.advance(8s);
  EXPECT_TRUE(keeper.valid());
  clock.advance(1s + 1ms);
  EXPECT_FALSE(keeper.valid());
  keeper.step();
  EXPECT_TRUE(keeper.valid());
}

TEST(LeaseKeeper, AnExpiredLeaseIsLostForGood) {
  auto url = testing::PostgresServer::shared().create_database(true);
  auto conn = store::connect(url);
  ManualClock clock;
  auto id = store::WorkerRegistry(*conn).register_worker({"t", 1, "t"}, 10s);
  Recorder rec;
  LeaseKeeper keeper(url, id, {10s, 1s}, clock, rec.callbacks());
  {
    pqxx::nontransaction tx(*conn);
    tx.exec0("UPDATE dobj.workers SET lease_until = now() - interval '1 second'");
  }
  keeper.step();
  EXPECT_TRUE(keeper.lost());
  EXPECT_FALSE(keeper.valid());
  EXPECT_EQ(rec.lost, 1);
  keeper.step();
  EXPECT_EQ(rec.lost, 1);
}

}  // namespace
}  // namespace dobj
