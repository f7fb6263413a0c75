// Storage semantics end to end: SQL and KV in one transaction, batches, ranges, delete_all,
// lazy and eager loading, and the output gate under a stalled or failed commit.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/store/database.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class StorageTest : public StackTest {
 protected:
  void SetUp() override { worker_ = &stack_.start_worker({"--idle-timeout-ms", "300"}); }
  void wait_evicted(const std::string& id) {
    ASSERT_TRUE(wait_until(
        [&] {
          return scalar("SELECT count(*) FROM dobj.objects WHERE id = '" + id +
                        "' AND owner IS NULL") == 1;
        },
        20s));
  }

  WorkerProcess* worker_ = nullptr;
};

Value sql(const std::string& query, Value params = Value::array()) {
  return {{"query", query}, {"params", params}};
}

TEST_F(StorageTest, SqlAndKvCommitTogetherAndRollBackTogether) {
  call("Scratch", "tx", "sql", sql("CREATE TABLE t (x int PRIMARY KEY, note text)"));
  call("Scratch", "tx", "sql", sql("INSERT INTO t VALUES ($1, $2)", {1, "one"}));
  call("Scratch", "tx", "put", {{"key", "k"}, {"value", "kv"}});
  EXPECT_EQ(call_error("Scratch", "tx", "sql_then_throw", sql("INSERT INTO t VALUES (2, 'two')")),
            ErrorCode::kHandlerError);
  EXPECT_EQ(call("Scratch", "tx", "sql", sql("SELECT x, note FROM t ORDER BY x")),
            Value::parse(R"([{"x": 1, "note": "one"}])"));
  // Typed results: integers, floats, booleans, json, bytea, NULL.
  auto typed = call("Scratch", "tx", "sql",
                    sql("SELECT 1::int8 AS i, 1.5::float8 AS f, true AS b, "
                        "'{\"a\": [1]}'::jsonb AS j, '\\x0102'::bytea AS y, NULL::text AS n"));
  EXPECT_EQ(typed[0]["i"], 1);
  EXPECT_EQ(typed[0]["f"], 1.5);
  EXPECT_EQ(typed[0]["b"], true);
  EXPECT_EQ(typed[0]["j"], Value::parse(R"({"a": [1]})"));
  EXPECT_EQ(typed[0]["y"], Value({{"$bin", "AQI="}}));  // bytea, as JSON carries binary
  EXPECT_TRUE(typed[0]["n"].is_null());
  // The table lives in the object's own schema, beside kv.
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_tables t JOIN dobj.objects o "
                   "ON t.schemaname = o.schema_name WHERE o.id = 'tx' AND t.tablename = 't'"),
            1);
}

TEST_F(StorageTest, AFailedStatementFailsItsTurnAndTheObjectGoesOn) {
  call("Scratch", "bad", "put", {{"key", "k"}, {"value", 1}});
  EXPECT_EQ(call_error("Scratch", "bad", "sql", sql("SELEC nonsense")), ErrorCode::kHandlerError);
  EXPECT_EQ(call_error("Scratch", "bad", "sql", sql("SELECT * FROM no_such_table")),
            ErrorCode::kHandlerError);
  EXPECT_EQ(call("Scratch", "bad", "get", {{"key", "k"}}), 1);
  EXPECT_EQ(call("Scratch", "bad", "sql", sql("SELECT 2 AS two")), Value::parse(R"([{"two": 2}])"));
}

TEST_F(StorageTest, ObjectsCannotReachEachOthersTables) {
  call("Scratch", "a", "sql", sql("CREATE TABLE secret (x int)"));
  EXPECT_EQ(call_error("Scratch", "b", "sql", sql("SELECT * FROM secret")),
            ErrorCode::kHandlerError);
}

TEST_F(StorageTest, DocumentKeepsRevisionsInAnIndexedTable) {
  EXPECT_TRUE(call("Document", "d", "read").is_null());
  EXPECT_EQ(call("Document", "d", "write", {{"author", "ada"}, {"text", "v1"}}),
            Value({{"revision", 1}}));
  call("Document", "d", "write", {{"author", "bob"}, {"text", "v2"}});
  call("Document", "d", "write", {{"author", "ada"}, {"text", "v3!"}});
  EXPECT_EQ(call("Document", "d", "read")["text"], "v3!");
  EXPECT_EQ(call("Document", "d", "read", {{"revision", 2}})["author"], "bob");
  auto by_ada = call("Document", "d", "history", {{"author", "ada"}});
  ASSERT_EQ(by_ada.size(), 2u);
  EXPECT_EQ(by_ada[0], Value({{"revision", 3}, {"author", "ada"}, {"length", 3}}));
  EXPECT_EQ(call("Document", "d", "revert", {{"author", "cy"}, {"revision", 1}}),
            Value({{"revision", 4}}));
  EXPECT_EQ(call("Document", "d", "read")["text"], "v1");
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_indexes i JOIN dobj.objects o "
                   "ON i.schemaname = o.schema_name WHERE o.id = 'd' "
                   "AND i.indexname = 'revisions_by_author'"),
            1);
  EXPECT_GT(scalar("SELECT size_bytes FROM dobj_admin.objects WHERE id = 'd'"), 8192);
}

TEST_F(StorageTest, ChatRoomHistoryComesFromItsTable) {
  for (int i = 1; i <= 60; ++i) {
    call("ChatRoom", "h", "post", {{"user", "u"}, {"text", "m" + std::to_string(i)}});
  }
  auto history = call("ChatRoom", "h", "history");
  ASSERT_EQ(history.size(), 50u);
  EXPECT_EQ(history[0], Value({{"seq", 11}, {"user", "u"}, {"text", "m11"}}));
  EXPECT_EQ(history[49]["seq"], 60);
  EXPECT_EQ(call("ChatRoom", "h", "history", {{"limit", 2}})[0]["seq"], 59);
  EXPECT_EQ(call("ChatRoom", "empty", "history"), Value::array());
}

TEST_F(StorageTest, BatchFormsListRangesAndDeleteAll) {
  call("Scratch", "b", "put_many", {{"entries", {{"a:1", 1}, {"a:2", 2}, {"b:1", 3}}}});
  EXPECT_EQ(call("Scratch", "b", "get_many", {{"keys", {"a:1", "b:1", "zz"}}}),
            Value({{"a:1", 1}, {"b:1", 3}}));
  EXPECT_EQ(call("Scratch", "b", "list", {{"prefix", "a:"}}),
            Value::parse(R"([["a:1",1],["a:2",2]])"));
  EXPECT_EQ(call("Scratch", "b", "list", {{"start", "a:2"}, {"end", "b:2"}}),
            Value::parse(R"([["a:2",2],["b:1",3]])"));
  EXPECT_EQ(call("Scratch", "b", "list", {{"prefix", "a:"}, {"reverse", true}, {"limit", 1}}),
            Value::parse(R"([["a:2",2]])"));
  EXPECT_EQ(call("Scratch", "b", "del_many", {{"keys", {"a:1", "nope"}}}), 1);
  Value too_many = Value::array();
  for (int i = 0; i < 129; ++i) too_many.push_back("k" + std::to_string(i));
  EXPECT_EQ(call_error("Scratch", "b", "get_many", {{"keys", too_many}}), ErrorCode::kBadRequest);
  EXPECT_EQ(call_error("Scratch", "b", "put", {{"key", std::string(2049, 'k')}, {"value", 1}}),
            ErrorCode::kBadRequest);
  EXPECT_EQ(call_error("Scratch", "b", "put",
                       {{"key", "big"}, {"value", std::string(2 * 1024 * 1024, 'v')}}),
            ErrorCode::kTooLarge);
  // Its schema: a ready one of the pool (o_r<n>) or its own (o_<hash>).
  auto schema_oid = scalar(
      "SELECT n.oid FROM dobj.objects o JOIN pg_namespace n ON n.nspname = o.schema_name "
      "WHERE o.id = 'b'");
  ASSERT_GT(schema_oid, 0);
  call("Scratch", "b", "delete_all");
  EXPECT_EQ(call("Scratch", "b", "list"), Value::array());
  // No keys and no tables left: the object's schema is gone.
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE id = 'b' AND schema_name IS NULL"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_namespace WHERE oid = " + std::to_string(schema_oid)),
            0);
  call("Scratch", "b", "put", {{"key", "again"}, {"value", 1}});
  EXPECT_EQ(call("Scratch", "b", "get", {{"key", "again"}}), 1);
}

TEST_F(StorageTest, LazyAndEagerObjectsWithManyKeysReload) {
  constexpr int kBatches = 40;  // 40 × 128 = 5,120 keys
  for (const std::string cls : {"Scratch", "ScratchEager"}) {
    for (int b = 0; b < kBatches; ++b) {
      Value entries = Value::object();
      for (int i = 0; i < 128; ++i) {
        char key[32];
        std::snprintf(key, sizeof key, "k%06d", b * 128 + i);
        entries[key] = b * 128 + i;
      }
      call(cls, "many", "put_many", {{"entries", entries}});
    }
    wait_evicted("many");  // evicted, so the next call activates from the database
    EXPECT_EQ(call(cls, "many", "get", {{"key", "k004321"}}), 4321) << cls;
    auto last = call(cls, "many", "list", {{"prefix", "k"}, {"reverse", true}, {"limit", 2}});
    EXPECT_EQ(last, Value::parse(R"([["k005119",5119],["k005118",5118]])")) << cls;
    EXPECT_EQ(call(cls, "many", "list", {{"prefix", "k"}}).size(), 5120u) << cls;
    wait_evicted("many");
  }
}

TEST_F(StorageTest, AStalledCommitHoldsRepliesAndEvents) {
  record_events();
  const std::string subject = "evt.ChatRoom.stall.message";
  call("ChatRoom", "stall", "post", {{"user", "a"}, {"text", "first"}});
  ASSERT_TRUE(wait_until([&] { return events_on(subject) == 1; }, 10s));

  auto blocker = store::connect(stack_.database_url());
  pqxx::work lock_tx(*blocker);
  lock_tx.exec("SELECT 1 FROM dobj.objects WHERE id = 'stall' FOR UPDATE");
  std::atomic<bool> replied{false};
  std::thread poster([&] {
    NatsConnection nats({stack_.nats().client_url(), "poster", true});
    Client(nats).call("ChatRoom", "stall", "post", {{"user", "a"}, {"text", "second"}});
    replied = true;
  });
  ASSERT_GT(stack_.wait_for_lock_waiter(20s), 0);
  EXPECT_FALSE(replied);
  EXPECT_EQ(events_on(subject), 1u);
  lock_tx.abort();
  poster.join();
  EXPECT_TRUE(replied);
  ASSERT_TRUE(wait_until([&] { return events_on(subject) == 2; }, 10s));
}

// The worker's connection dies while its commit statement is in the server: whether it committed
// cannot be known on that connection, so the reply says so (never "not applied").
TEST_F(StorageTest, ACommitWhoseConnectionDiesAnswersUnknownOutcomeAndTheObjectReloads) {
  EXPECT_EQ(call("Counter", "fail", "inc"), 1);
  auto blocker = store::connect(stack_.database_url());
  pqxx::work lock_tx(*blocker);
  lock_tx.exec("SELECT 1 FROM dobj.objects WHERE id = 'fail' FOR UPDATE");
  std::optional<ErrorCode> code;
  std::thread caller([&] {
    NatsConnection nats({stack_.nats().client_url(), "caller", true});
    CallOptions once;
    once.max_attempts = 1;
    try {
      Client(nats).call("Counter", "fail", "inc", nullptr, once);
    } catch (const Error& e) {
      code = e.code();
    }
  });
  auto waiting_pid = stack_.wait_for_lock_waiter(20s);
  ASSERT_GT(waiting_pid, 0);
  // The worker's connection dies in the middle of its commit.
  scalar("SELECT pg_terminate_backend(" + std::to_string(waiting_pid) + ")::int");
  caller.join();
  lock_tx.abort();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, ErrorCode::kUnknownOutcome);
  // Here it had not committed (it waited for the lock); the object reloaded and goes on.
  EXPECT_EQ(call("Counter", "fail", "get"), 1);
  EXPECT_EQ(call("Counter", "fail", "inc"), 2);
}

}  // namespace
}  // namespace dobj::testing
