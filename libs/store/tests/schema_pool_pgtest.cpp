#include "dobj/store/schema_pool.hpp"

#include <gtest/gtest.h>

#include "dobj/core/names.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/object_store.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/worker_registry.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::store {
namespace {

using namespace std::chrono_literals;

class SchemaPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresServer::shared().create_database(true);
    conn_ = connect(url_);
  }
  std::int64_t scalar(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }
  void exec(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    tx.exec(sql);
  }
  bool schema_exists(const std::string& name) {
    return scalar("SELECT count(*) FROM pg_namespace WHERE nspname = '" + name + "'") == 1;
  }
  bool handler_may_create_in(const std::string& schema) {
    return scalar("SELECT has_schema_privilege('dobj_handler', '" + schema + "', 'CREATE')::int") ==
           1;
  }
  std::string a_ready_schema() {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1("SELECT min(name) FROM dobj.schema_pool")[0].as<std::string>();
  }
  // Claims c1 and commits its first write; returns its lease after the commit.
  ObjectLease first_write() {
    auto w = WorkerRegistry(*conn_).register_worker({"test", 1, "t"}, 60s);
    PartitionTable(*conn_).claim_fair_share(w);
    ObjectStore store(*conn_, w);
    auto lease = *store.claim("Counter", "c1", 5);
    std::vector<ObjectCommit> commits{ObjectCommit{"Counter", "c1", lease, false, {{"k", "v"}}}};
    EXPECT_EQ(store.commit(commits), std::vector<CommitOutcome>{CommitOutcome::kCommitted});
    EXPECT_EQ(store.load(commits[0].lease, "k"), "v");
    return commits[0].lease;
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

TEST_F(SchemaPoolTest, FillingMakesReadySchemasUpToTheTargetABatchAtATime) {
  EXPECT_EQ(fill_schema_pool(*conn_, 5, 3), 3);
  EXPECT_EQ(fill_schema_pool(*conn_, 5, 3), 2);
  EXPECT_EQ(fill_schema_pool(*conn_, 5, 3), 0);
  EXPECT_EQ(ready_schemas(*conn_), 5);
  EXPECT_EQ(scalar("SELECT ready FROM dobj_admin.schema_pool"), 5);  // what operators see
  // Ready means: made like an object's schema (its kv table, its grants), only empty.
  auto ready = a_ready_schema();
  EXPECT_EQ(scalar("SELECT count(*) FROM " + ready + ".kv"), 0);
  EXPECT_TRUE(handler_may_create_in(ready));
  EXPECT_EQ(fill_schema_pool(*conn_, 3, 3), 0);  // a lower target removes nothing
  EXPECT_EQ(ready_schemas(*conn_), 5);
}

// The ready schema keeps its name: renaming it would make every backend drop its cached plans.
TEST_F(SchemaPoolTest, AFirstWriteTakesAReadySchemaAsItIs) {
  ASSERT_EQ(fill_schema_pool(*conn_, 2, 2), 2);
  auto ready = a_ready_schema();
  auto lease = first_write();
  EXPECT_EQ(lease.schema_name, ready);
  EXPECT_EQ(ready_schemas(*conn_), 1);
  EXPECT_EQ(
      scalar("SELECT count(*) FROM dobj.objects WHERE id = 'c1' AND schema_name = '" + ready + "'"),
      1);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.schema_pool WHERE name = '" + ready + "'"), 0);
  EXPECT_TRUE(handler_may_create_in(ready));
}

TEST_F(SchemaPoolTest, AReadySchemaDroppedByHandIsPassedOver) {
  ASSERT_EQ(fill_schema_pool(*conn_, 2, 2), 2);
  auto dropped = a_ready_schema();  // the one a take tries first
  exec("DROP SCHEMA " + dropped + " CASCADE");
  auto lease = first_write();
  EXPECT_NE(lease.schema_name, dropped);
  EXPECT_TRUE(schema_exists(lease.schema_name));
  EXPECT_EQ(ready_schemas(*conn_), 0);
}

TEST_F(SchemaPoolTest, BeyondThePoolAFirstWriteCreatesItsSchema) {
  auto lease = first_write();
  EXPECT_EQ(lease.schema_name, object_schema_name("Counter", "c1"));
  EXPECT_TRUE(schema_exists(lease.schema_name));
  EXPECT_TRUE(handler_may_create_in(lease.schema_name));
}

TEST_F(SchemaPoolTest, AFirstWriteThatRollsBackGivesTheSchemaBack) {
  ASSERT_EQ(fill_schema_pool(*conn_, 1, 1), 1);
  auto ready = a_ready_schema();
  {
    pqxx::work tx(*conn_);
    EXPECT_EQ(tx.exec1("SELECT dobj.take_object_schema('o_rolled_back')")[0].as<std::string>(),
              ready);
    tx.abort();
  }
  EXPECT_EQ(a_ready_schema(), ready);
  EXPECT_TRUE(schema_exists(ready));
  EXPECT_EQ(ready_schemas(*conn_), 1);
  EXPECT_FALSE(schema_exists("o_rolled_back"));
}

// Two commits taking at once never wait for each other: each takes a schema the other has not
// locked, or creates one.
TEST_F(SchemaPoolTest, ConcurrentFirstWritesTakeDifferentSchemasWithoutWaiting) {
  ASSERT_EQ(fill_schema_pool(*conn_, 1, 1), 1);
  auto ready = a_ready_schema();
  auto other = connect(url_);
  pqxx::work first(*conn_);
  EXPECT_EQ(first.exec1("SELECT dobj.take_object_schema('o_first')")[0].as<std::string>(), ready);
  {
    pqxx::work second(*other);
    second.exec0("SET LOCAL lock_timeout = '2s'");
    EXPECT_EQ(second.exec1("SELECT dobj.take_object_schema('o_second')")[0].as<std::string>(),
              "o_second");
    second.commit();
  }
  first.commit();
  EXPECT_EQ(ready_schemas(*conn_), 0);
  EXPECT_FALSE(schema_exists("o_first"));
  EXPECT_TRUE(schema_exists("o_second"));
}

TEST_F(SchemaPoolTest, ASchemaThatExistsAlreadyIsUsedWithoutTakingOne) {
  ASSERT_EQ(fill_schema_pool(*conn_, 1, 1), 1);
  exec("CREATE SCHEMA o_left_over");
  exec("CREATE TABLE o_left_over.kv (key text COLLATE \"C\" PRIMARY KEY, value bytea NOT NULL)");
  EXPECT_EQ(scalar("SELECT (dobj.take_object_schema('o_left_over') = 'o_left_over')::int"), 1);
  EXPECT_EQ(ready_schemas(*conn_), 1);
  EXPECT_TRUE(handler_may_create_in("o_left_over"));
}

TEST_F(SchemaPoolTest, OneFillerAtATime) {
  auto other = connect(url_);
  pqxx::work holder(*other);
  holder.exec("SELECT dobj.fill_schema_pool(1, 1)");  // holds the fill lock until it ends
  EXPECT_EQ(fill_schema_pool(*conn_, 5, 5), 0);
  holder.commit();
  EXPECT_EQ(fill_schema_pool(*conn_, 5, 5), 4);
}

TEST_F(SchemaPoolTest, ARowWhoseSchemaWasDroppedByHandIsReplaced) {
  ASSERT_EQ(fill_schema_pool(*conn_, 2, 2), 2);
  exec("DROP SCHEMA " + a_ready_schema() + " CASCADE");
  EXPECT_EQ(fill_schema_pool(*conn_, 2, 2), 1);
  EXPECT_EQ(ready_schemas(*conn_), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.schema_pool s JOIN pg_namespace n "
                   "ON n.nspname = s.name"),
            2);
}

// An object whose first turn runs SQL takes its schema when it enters the batch, and its tables
// go there.
TEST_F(SchemaPoolTest, AnObjectWithSqlTakesAReadySchemaWhenItEnters) {
  ASSERT_EQ(fill_schema_pool(*conn_, 1, 1), 1);
  auto ready = a_ready_schema();
  auto w = WorkerRegistry(*conn_).register_worker({"test", 1, "t"}, 60s);
  PartitionTable(*conn_).claim_fair_share(w);
  ObjectStore store(*conn_, w);
  auto lease = *store.claim("Scratch", "s1", 5);
  ASSERT_TRUE(store.enter("Scratch", "s1", lease));
  EXPECT_EQ(lease.schema_name, ready);
  store.begin_turn();
  store.exec_sql(lease, "CREATE TABLE notes (n int)", {});
  store.end_turn(true);
  std::vector<ObjectCommit> commits{ObjectCommit{"Scratch", "s1", lease, false, {}}};
  EXPECT_EQ(store.commit(commits), std::vector<CommitOutcome>{CommitOutcome::kCommitted});
  EXPECT_EQ(commits[0].lease.schema_name, ready);
  EXPECT_TRUE(commits[0].lease.schema_exists);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_tables WHERE schemaname = '" + ready +
                   "' AND tablename = 'notes'"),
            1);
  EXPECT_EQ(
      scalar("SELECT count(*) FROM dobj.objects WHERE id = 's1' AND schema_name = '" + ready + "'"),
      1);
}

}  // namespace
}  // namespace dobj::store
