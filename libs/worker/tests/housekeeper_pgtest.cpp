#include "housekeeper.hpp"

#include <gtest/gtest.h>

#include "dobj/store/database.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj {
namespace {

// Idempotency keys expire at the rate they were stored: 5,000 keyed requests/s per worker is
// 5,000 rows/s to delete. One sweep (each kInterval) clears far more than a second's worth; the
// sweep before this change deleted one batch per 10 s (1,000 rows/s) and fell behind for ever.
TEST(HousekeeperTest, OneSweepClearsMoreThanTenSecondsOfExpiredKeysAtFiveThousandPerSecond) {
  constexpr int kRows = 5'000 * 10;
  static_assert(kRows > static_cast<int>(Housekeeper::kBatch));
  auto url = testing::PostgresServer::shared().create_database(true);
  auto conn = store::connect(url);
  pqxx::nontransaction(*conn).exec0(
      "INSERT INTO dobj.idempotency (class, id, key, ok, content_type, reply, expires_at) "
      "SELECT 'Counter', 'c' || (n % 100), 'k' || n, true, 'application/json', '\\x31', "
      "now() - interval '1 second' FROM generate_series(1, " +
      std::to_string(kRows) + ") AS n");
  pqxx::nontransaction(*conn).exec0(
      "INSERT INTO dobj.idempotency (class, id, key, ok, content_type, reply, expires_at) "
      "VALUES ('Counter', 'c1', 'live', true, 'application/json', '\\x31', "
      "now() + interval '1 hour')");
  Housekeeper housekeeper(url, store::Retention{});
  housekeeper.step();
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dobj.idempotency")[0].as<int>(), 1);
}

}  // namespace
}  // namespace dobj
