#include "dobj/store/lazy_connection.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "dobj/core/error.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::store {
namespace {

int backend_pid(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
}

TEST(LazyConnection, ConnectsOnFirstUseKeepsItAndConnectsAnewAfterAFailure) {
  LazyConnection conn(testing::PostgresServer::shared().create_database(false));
  EXPECT_FALSE(conn.is_open());
  int first = backend_pid(conn.get());
  EXPECT_TRUE(conn.is_open());
  EXPECT_EQ(conn.use([](pqxx::connection& c) { return backend_pid(c); }), first);
  // A failure inside use() drops the connection and goes on up.
  EXPECT_THROW(conn.use([](pqxx::connection&) -> int { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_FALSE(conn.is_open());
  EXPECT_NE(backend_pid(conn.get()), first);
}

// A shared URL set anew: the open connection is stale, and the next get() connects by the new
// URL (its session carries the new URL's application_name).
TEST(LazyConnection, AChangedUrlIsTakenAtTheNextGet) {
  auto database = testing::PostgresServer::shared().create_database(false);
  ConnectionUrl url(database);
  LazyConnection conn(url);
  int first = backend_pid(conn.get());
  EXPECT_FALSE(conn.stale());
  EXPECT_FALSE(url.set(database));  // the same URL: nothing changes
  EXPECT_FALSE(conn.stale());
  EXPECT_TRUE(url.set(database + "?application_name=moved"));
  EXPECT_TRUE(conn.stale());
  EXPECT_TRUE(conn.is_open());  // until its holder lets it go
  auto& next = conn.get();
  EXPECT_FALSE(conn.stale());
  EXPECT_NE(backend_pid(next), first);
  pqxx::nontransaction tx(next);
  EXPECT_EQ(tx.exec1("SHOW application_name")[0].as<std::string>(), "moved");
}

TEST(LazyConnection, ADatabaseThatIsNotThereIsAStorageErrorEachTime) {
  LazyConnection conn("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
  for (int i = 0; i < 2; ++i) {
    try {
      conn.get();
      FAIL() << "connected to nothing";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kStorageError);
    }
    EXPECT_FALSE(conn.is_open());
  }
}

}  // namespace
}  // namespace dobj::store
