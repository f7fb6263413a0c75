#include "schema_pool_filler.hpp"

#include <gtest/gtest.h>

#include "dobj/store/database.hpp"
#include "dobj/store/schema_pool.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj {
namespace {

constexpr int kBatch = SchemaPoolFiller::kBatch;

class SchemaPoolFillerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresServer::shared().create_database(true);
    conn_ = store::connect(url_);
  }
  // What first writes do: each takes a ready schema.
  void take(int n) {
    pqxx::work tx(*conn_);
    tx.exec("SELECT dobj.take_object_schema('o_taken' || g) FROM generate_series(1, " +
            std::to_string(n) + ") AS g");
    tx.commit();
    taken_ += n;
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  int taken_ = 0;
};

TEST_F(SchemaPoolFillerTest, FillsToItsTargetABatchPerRound) {
  SchemaPoolFiller filler(url_, kBatch + 8);
  EXPECT_EQ(filler.step(), kBatch);
  EXPECT_EQ(filler.step(), 8);
  EXPECT_EQ(filler.step(), 0);
  EXPECT_EQ(store::ready_schemas(*conn_), kBatch + 8);
}

TEST_F(SchemaPoolFillerTest, WaitsWhileABurstTakesSchemasAndRefillsAfterIt) {
  SchemaPoolFiller filler(url_, 3 * kBatch);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(filler.step(), kBatch);
  take(kBatch + 1);  // more than a round's worth: a burst
  EXPECT_EQ(filler.step(), 0);
  EXPECT_EQ(filler.step(), kBatch);  // nothing taken since: refill
  EXPECT_EQ(filler.step(), 1);
  take(kBatch / 2);  // a trickle does not stop it
  EXPECT_EQ(filler.step(), kBatch / 2);
}

// Once the pool is empty, waiting would only make every first write create its own schema.
TEST_F(SchemaPoolFillerTest, RefillsAnEmptyPoolEvenDuringABurst) {
  SchemaPoolFiller filler(url_, 2 * kBatch);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(filler.step(), kBatch);
  take(2 * kBatch);
  EXPECT_EQ(filler.step(), kBatch);
}

TEST_F(SchemaPoolFillerTest, TargetZeroFillsNothing) {
  SchemaPoolFiller filler(url_, 0);
  EXPECT_EQ(filler.step(), 0);
  EXPECT_EQ(store::ready_schemas(*conn_), 0);
}

}  // namespace
}  // namespace dobj
