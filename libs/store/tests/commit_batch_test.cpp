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

// Each object's puts and deletes are 1-based ranges of the flat arrays; an object without any
// gets an empty range (from = to + 1).
TEST(CommitBatch, FlattensEachObjectsWritesIntoRanges) {
  CommitBatch batch(42, std::chrono::seconds(600));
  batch.add(commit("a", {{"k1", std::string("\x01", 1)}, {"gone", std::nullopt}, {"k2", "v"}}),
            false);
  batch.add(commit("b", {}), true);
  batch.add(commit("c", {{"x", std::nullopt}, {"y", "w"}}, /*delete_all=*/true), false);
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_FALSE(batch.has_replies());
  auto p = batch.params();
  ASSERT_EQ(p.size(), 18u);
  EXPECT_EQ(p[0], "42");
  EXPECT_EQ(p[1], R"({"Counter","Counter","Counter"})");
  EXPECT_EQ(p[2], R"({"a","b","c"})");
  EXPECT_EQ(p[3], R"({"7","7","7"})");
  EXPECT_EQ(p[6], R"({"f","t","f"})");  // entered
  EXPECT_EQ(p[7], R"({"f","f","t"})");  // delete_all
  EXPECT_EQ(p[8], R"({"1","3","3"})");  // put_from
  EXPECT_EQ(p[9], R"({"2","2","3"})");  // put_to
  EXPECT_EQ(p[10], R"({"k1","k2","y"})");
  EXPECT_EQ(p[11], R"({"\\x01","\\x76","\\x77"})");
  EXPECT_EQ(p[12], R"({"1","2","2"})");  // del_from: after delete_all there is nothing to delete
  EXPECT_EQ(p[13], R"({"1","1","1"})");
  EXPECT_EQ(p[14], R"({"gone"})");
  EXPECT_EQ(p[17], R"({"","",""})");  // no alarm set, so no trace
  EXPECT_EQ(batch.sql().find("WITH"), std::string::npos);
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
  ASSERT_EQ(p.size(), 25u);
  EXPECT_EQ(p[15], R"({"0","1"})");  // alarm ops
  EXPECT_EQ(p[17], R"({"","00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})");
  EXPECT_EQ(p[18], R"({"2","2"})");  // the replies belong to the second object
  EXPECT_EQ(p[19], R"({"key-1","key-2"})");
  EXPECT_EQ(p[20], R"({"t","f"})");
  EXPECT_EQ(p[22], R"({"\\x3432","\\x"})");
  EXPECT_EQ(p[23], R"({"f","t"})");  // the second waits on an awaited call
  EXPECT_EQ(p[24], "1.500000");
  auto sql = batch.sql();
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
  ASSERT_EQ(p.size(), 28u);              // the call's 18, then 10 arrays of messages
  EXPECT_EQ(p[18], R"({"2","2","2"})");  // all belong to the second object
  EXPECT_EQ(p[19], R"({"4","5","6"})");
  EXPECT_EQ(p[20], R"({"17","17","17"})");
  EXPECT_EQ(p[21], R"({"message","event","call"})");
  EXPECT_EQ(p[22], R"({"Account","","Counter"})");
  EXPECT_EQ(p[24], R"({"credit","changed","get"})");
  EXPECT_EQ(p[26], R"({"","tp",""})");
  EXPECT_EQ(p[27], R"({NULL,NULL,"\\x80"})");  // only a call has a route
  auto sql = batch.sql();
  EXPECT_NE(sql.find("INSERT INTO dobj.outbox "), std::string::npos);
  EXPECT_NE(sql.find("INSERT INTO dobj.outbox_seq"), std::string::npos);
  EXPECT_NE(sql.find("$28::bytea[]"), std::string::npos);
  EXPECT_EQ(sql.find("$29"), std::string::npos);
}

}  // namespace
}  // namespace dobj::store
