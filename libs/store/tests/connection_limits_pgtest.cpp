#include "dobj/store/connection_limits.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/worker_registry.hpp"
#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/tcp_proxy.hpp"

namespace dobj::store {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionLimits, AddsTheLimitsToUrisAndKeywordStringsAndKeepsTheUsersOwn) {
  ConnectionLimits limits;
  EXPECT_EQ(limits.apply_to("postgresql://u@h:1/db"),
            "postgresql://u@h:1/db?connect_timeout=5&keepalives=1&keepalives_idle=5&"
            "keepalives_interval=1&keepalives_count=3&tcp_user_timeout=10000");
  EXPECT_EQ(limits.apply_to("postgresql://h/db?sslmode=disable&connect_timeout=30"),
            "postgresql://h/db?sslmode=disable&connect_timeout=30&keepalives=1&keepalives_idle=5&"
            "keepalives_interval=1&keepalives_count=3&tcp_user_timeout=10000");
  EXPECT_EQ(limits.apply_to("host=h keepalives=0"),
            "host=h keepalives=0 connect_timeout=5 keepalives_idle=5 keepalives_interval=1 "
            "keepalives_count=3 tcp_user_timeout=10000");
  EXPECT_EQ(limits.apply_to(""),
            "connect_timeout=5 keepalives=1 keepalives_idle=5 keepalives_interval=1 "
            "keepalives_count=3 tcp_user_timeout=10000");
}

TEST(ConnectionLimits, TheCallTimeoutMustExceedTheStatementTimeout) {
  ConnectionLimits limits;
  limits.call_timeout = limits.statement_timeout;
  EXPECT_THROW(limits.validate(), Error);
}

class ConnectionLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresServer::shared().create_database(true);
    saved_ = ConnectionLimits::current();
    ConnectionLimits fast;
    fast.statement_timeout = 300ms;
    fast.call_timeout = 600ms;
    ConnectionLimits::set_current(fast);
  }
  void TearDown() override { ConnectionLimits::set_current(saved_); }

  std::string url_;
  ConnectionLimits saved_;
};

TEST_F(ConnectionLimitsTest, TheServerCancelsAStatementPastTheStatementTimeout) {
  auto conn = connect(url_);
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(
      with_storage_errors(*conn, "sleeping",
                          [&] { pqxx::nontransaction(*conn).exec("SELECT pg_sleep(30)"); }),
      Error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_TRUE(conn->is_open());  // a cancelled statement leaves the connection usable
}

// A server that does not answer at all (here: a link that swallows traffic) turns into an error
// by the client's own deadline, not a hang; so does the worker's lease renewal on it.
TEST_F(ConnectionLimitsTest, ACallToAServerThatNeverAnswersFailsByTheCallTimeout) {
  testing::TcpProxy proxy(testing::PostgresServer::shared().port());
  auto via_proxy = url_;
  via_proxy.replace(via_proxy.find(":" + std::to_string(testing::PostgresServer::shared().port())),
                    std::to_string(testing::PostgresServer::shared().port()).size() + 1,
                    ":" + std::to_string(proxy.port()));
  auto conn = connect(via_proxy);
  auto worker = WorkerRegistry(*conn).register_worker({"t", 1, "t"}, 10s);
  proxy.freeze();
  auto started = std::chrono::steady_clock::now();
  try {
    WorkerRegistry(*conn).renew(worker, 10s);
    FAIL() << "a renewal through a frozen link returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorageError);
  }
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 10s);
  proxy.thaw();
  // A fresh connection works again once the link does.
  auto again = connect(via_proxy);
  EXPECT_EQ(WorkerRegistry(*again).renew(worker, 10s), LeaseState::kServing);
}

}  // namespace
}  // namespace dobj::store
