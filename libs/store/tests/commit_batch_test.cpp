#include "commit_batch.hpp"

#include <gtest/gtest.h>

namespace dobj::store {
namespace {

ObjectCommit commit(const std::string& id, std::vector<KvWrite> writes, bool delete_all = false) {
  ObjectLease lease;
  lease.epoch = 7;
  lease.schema_name = "o_" + id;
  return ObjectCommit{"Counter", id, lease, delete_all, std::move(writes)};
}

// Each object is one dobj.object_commit (its fields in the type's order) with its own puts and
// deletes, as one array literal of records.
TEST(CommitBatch, EachObjectIsOneRecordWithItsOwnWrites) {
  CommitBatch batch(42, std::chrono::seconds(600));
  batch.add(commit("a", {{"k1", std::string("\x01", 1)}, {"gone", std::nullopt}, {"k2", "v"}}),
            false);
  batch.add(commit("b", {}), true);
  batch.add(commit("c", {{"x", std::nullopt}, {"y", "w"}}, /*delete_all=*/true), false);
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_FALSE(batch.has_replies());
  auto p = batch.params();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "42");
  // Three levels of quoting: the array's elements, each record's fields, the key arrays'
  // elements (a bytea's backslash doubles at each).
  auto object = [](std::string fields) {
    std::string quoted = "\"";
    for (char ch : fields) {
      if (ch == '"' || ch == '\\') quoted.push_back('\\');
      quoted.push_back(ch);
    }
    return quoted + "\"";
  };
  EXPECT_EQ(p[1],
            "{" +
                object(R"(("Counter","a","7","o_a","f","f","f","{\"k1\",\"k2\"}",)"
                       R"("{\"\\\\x01\",\"\\\\x76\"}","{\"gone\"}","0","0",""))") +
                "," + object(R"(("Counter","b","7","o_b","f","t","f","{}","{}","{}","0","0",""))") +
                "," +
                // after delete_all there is nothing left to delete
                object(R"(("Counter","c","7","o_c","f","f","t","{\"y\"}","{\"\\\\x77\"}","{}",)"
                       R"("0","0",""))") +
                "}");
  EXPECT_EQ(batch.sql(CommitBatch::Isolation::kTogether),
            "SELECT idx, committed, object_schema, NULL::text AS rejected FROM "
            "dobj.commit_objects_together($1, $2::dobj.object_commit[]) ORDER BY idx");
  EXPECT_EQ(batch.sql(CommitBatch::Isolation::kPerObject),
            "SELECT idx, committed, object_schema, rejected FROM "
            "dobj.commit_objects($1, $2::dobj.object_commit[]) ORDER BY idx");
}

TEST(CommitBatch, StoredRepliesRideInTheSameStatement) {
  CommitBatch batch(1, std::chrono::milliseconds(1500));
  auto a = commit("a", {});
  a.replies = {{"key-1", true, "application/json", "42"}, {"key-2", false, "", "", true}};
  a.alarm_op = AlarmOp::kSet;
  a.alarm_at = 1000;
  a.alarm_trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  batch.add(commit("z", {}), false);
  batch.add(a, false);
  EXPECT_TRUE(batch.has_replies());
  auto p = batch.params();
  ASSERT_EQ(p.size(), 9u);
  // The alarm (op 1, set) and its trace ride in the object's record.
  EXPECT_NE(
      p[1].find(R"(\"1\",\"1000\",\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\")"),
      std::string::npos);
  EXPECT_EQ(p[2], R"({"2","2"})");  // the replies belong to the second object
  EXPECT_EQ(p[3], R"({"key-1","key-2"})");
  EXPECT_EQ(p[4], R"({"t","f"})");
  EXPECT_EQ(p[6], R"({"\\x3432","\\x"})");
  EXPECT_EQ(p[7], R"({"f","t"})");  // the second waits on an awaited call
  EXPECT_EQ(p[8], "1.500000");
  auto sql = batch.sql(CommitBatch::Isolation::kTogether);
  EXPECT_NE(sql.find("INSERT INTO dobj.idempotency"), std::string::npos);
  // Only a pending row (or an expired one) gives way.
  EXPECT_NE(sql.find("OR dobj.idempotency.pending"), std::string::npos);
}

TEST(CommitBatch, DurableMessagesRideInTheSameStatementAfterTheReplies) {
  CommitBatch batch(1, std::chrono::milliseconds(1000));
  auto a = commit("a", {});
  a.sends = {DurableMessage{"Counter", "a", 4, 17, false, "Account", "bob", "credit", "\x80"},
             DurableMessage{"Counter", "a", 5, 17, true, "", "", "changed", "\x80", "tp"},
             DurableMessage{"Counter", "a", 6, 17, false, "Counter", "b", "get", "\xc0", "", 0, 0,
                            "\x80"}};
  batch.add(commit("z", {}), false);
  batch.add(a, false);
  EXPECT_TRUE(batch.has_sends());
  EXPECT_FALSE(batch.has_replies());
  auto p = batch.params();
  ASSERT_EQ(p.size(), 12u);             // the call's 2, then 10 arrays of messages
  EXPECT_EQ(p[2], R"({"2","2","2"})");  // all belong to the second object
  EXPECT_EQ(p[3], R"({"4","5","6"})");
  EXPECT_EQ(p[4], R"({"17","17","17"})");
  EXPECT_EQ(p[5], R"({"message","event","call"})");
  EXPECT_EQ(p[6], R"({"Account","","Counter"})");
  EXPECT_EQ(p[8], R"({"credit","changed","get"})");
  EXPECT_EQ(p[10], R"({"","tp",""})");
  EXPECT_EQ(p[11], R"({NULL,NULL,"\\x80"})");  // only a call has a route
  auto sql = batch.sql(CommitBatch::Isolation::kTogether);
  EXPECT_NE(sql.find("INSERT INTO dobj.outbox "), std::string::npos);
  EXPECT_NE(sql.find("INSERT INTO dobj.outbox_seq"), std::string::npos);
  EXPECT_NE(sql.find("$12::bytea[]"), std::string::npos);
  EXPECT_EQ(sql.find("$13"), std::string::npos);
}

}  // namespace
}  // namespace dobj::store
