// Tentative leases (ObjectStore::peek_many): an object read without a claim, claimed by its
// first commit only if nothing changed since the read.
#include <gtest/gtest.h>

#include "dobj/store/object_store.hpp"
#include "object_store_fixture.hpp"

namespace dobj::store {
namespace {

class TentativeLeaseTest : public ObjectStoreTest {
 protected:
  static ObjectLease peek(ObjectStore& store, const std::string& id, int partition = 5) {
    auto leases = store.peek_many({{"Counter", id, partition}});
    EXPECT_TRUE(leases.at(0)) << id << " could not be read";
    return leases.at(0).value_or(ObjectLease{});
  }

  static CommitOutcome commit(ObjectStore& store, ObjectCommit& c) {
    std::vector<ObjectCommit> commits{c};
    auto outcome = store.commit(commits).at(0);
    c = commits[0];
    return outcome;
  }

  static ObjectCommit put(const std::string& id, const ObjectLease& lease, const std::string& v) {
    return ObjectCommit{"Counter", id, lease, false, {KvWrite{"k", v}}};
  }

  std::string row(const std::string& id) {
    pqxx::nontransaction tx(*conn_);
    auto rows = tx.exec_params(
        "SELECT coalesce(owner::text, '-') || '/' || epoch || '/' || version "
        "FROM dobj.objects WHERE class = 'Counter' AND id = $1",
        id);
    return rows.empty() ? "none" : rows[0][0].as<std::string>();
  }
};

TEST_F(TentativeLeaseTest, AReadWritesNothingAndNeedsThePartition) {
  auto w = add_worker();
  ObjectStore store(*conn_, w);
  EXPECT_FALSE(store.peek_many({{"Counter", "c1", 5}}).at(0));
  PartitionTable(*conn_).claim_fair_share(w);
  auto lease = peek(store, "c1");
  EXPECT_TRUE(lease.tentative);
  EXPECT_EQ(lease.epoch, 0);  // no row
  EXPECT_FALSE(lease.schema_exists);
  EXPECT_EQ(row("c1"), "none");
}

TEST_F(TentativeLeaseTest, TheFirstCommitClaimsANewObject) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto c = put("c1", peek(store, "c1"), "v1");
  ASSERT_EQ(commit(store, c), CommitOutcome::kCommitted);
  EXPECT_FALSE(c.lease.tentative);
  EXPECT_EQ(c.lease.epoch, 1);
  EXPECT_EQ(row("c1"), std::to_string(w) + "/1/1");
  EXPECT_EQ(store.load(c.lease, "k"), "v1");
  // From now on it commits as an owner does.
  auto next = put("c1", c.lease, "v2");
  ASSERT_EQ(commit(store, next), CommitOutcome::kCommitted);
  EXPECT_EQ(row("c1"), std::to_string(w) + "/1/2");
}

// A read-only turn's claim is not a commit: no version, and the release leaves no row behind
// for an object that never stored anything (as with ObjectStore::claim).
TEST_F(TentativeLeaseTest, AClaimWithNothingToWriteAddsNoVersion) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  ObjectCommit c{"Counter", "looked-at", peek(store, "looked-at"), false, {}};
  ASSERT_EQ(commit(store, c), CommitOutcome::kCommitted);
  EXPECT_EQ(row("looked-at"), std::to_string(w) + "/1/0");
  store.release({{"Counter", "looked-at", c.lease.epoch}});
  EXPECT_EQ(row("looked-at"), "none");
}

TEST_F(TentativeLeaseTest, AnObjectWithARowIsClaimedAtTheNextEpoch) {
  auto w = add_serving_worker();
  ObjectStore first(*conn_, w);
  auto before = *first.claim("Counter", "c1", 5);
  auto c = put("c1", before, "v1");
  ASSERT_EQ(commit(first, c), CommitOutcome::kCommitted);

  auto conn_b = connect(url_);
  ObjectStore second(*conn_b, w);
  auto lease = peek(second, "c1");
  EXPECT_EQ(lease.epoch, 1);
  EXPECT_EQ(lease.version, 1);
  EXPECT_EQ(second.load(lease, "k"), "v1");
  auto claimed = put("c1", lease, "v2");
  ASSERT_EQ(commit(second, claimed), CommitOutcome::kCommitted);
  EXPECT_EQ(claimed.lease.epoch, 2);
  EXPECT_EQ(row("c1"), std::to_string(w) + "/2/2");
  // The holder of the read's epoch is fenced by that claim.
  auto stale = put("c1", c.lease, "stale");
  EXPECT_EQ(commit(first, stale), CommitOutcome::kFenced);
  EXPECT_EQ(second.load(claimed.lease, "k"), "v2");
}

// What the turns read must still be what is stored when their results commit: a commit or a
// claim by anyone in between, or a row made in between, and nothing of the batch's object is
// written; the other objects of the batch commit.
TEST_F(TentativeLeaseTest, AnObjectChangedSinceItWasReadIsNotClaimed) {
  auto w = add_serving_worker();
  ObjectStore owner(*conn_, w);
  auto held = *owner.claim("Counter", "committed-since", 5);
  auto first = put("committed-since", held, "v1");
  ASSERT_EQ(commit(owner, first), CommitOutcome::kCommitted);
  owner.claim("Counter", "claimed-since", 5);

  auto conn_b = connect(url_);
  ObjectStore reader(*conn_b, w);
  auto leases = reader.peek_many({{"Counter", "committed-since", 5},
                                  {"Counter", "claimed-since", 5},
                                  {"Counter", "created-since", 5},
                                  {"Counter", "untouched", 5}});
  auto again = put("committed-since", first.lease, "v2");
  ASSERT_EQ(commit(owner, again), CommitOutcome::kCommitted);
  owner.claim("Counter", "claimed-since", 5);
  owner.claim("Counter", "created-since", 5);

  std::vector<ObjectCommit> commits{
      put("committed-since", *leases[0], "late"), put("claimed-since", *leases[1], "late"),
      put("created-since", *leases[2], "late"), put("untouched", *leases[3], "fine")};
  EXPECT_EQ(reader.commit(commits),
            (std::vector<CommitOutcome>{CommitOutcome::kFenced, CommitOutcome::kFenced,
                                        CommitOutcome::kFenced, CommitOutcome::kCommitted}));
  EXPECT_EQ(reader.load(again.lease, "k"), "v2");
  EXPECT_EQ(row("claimed-since"), std::to_string(w) + "/2/0");
  EXPECT_EQ(row("created-since"), std::to_string(w) + "/1/0");
  EXPECT_EQ(row("untouched"), std::to_string(w) + "/1/1");
  EXPECT_TRUE(commits[0].lease.tentative);  // not claimed: the caller reads it again
}

// The claim tests the partition when it is made, not only when the object was read.
TEST_F(TentativeLeaseTest, AClaimNeedsThePartitionWhenItCommits) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto fresh = peek(store, "fresh");
  auto c = *store.claim("Counter", "existing", 5);
  auto first = put("existing", c, "v1");
  ASSERT_EQ(commit(store, first), CommitOutcome::kCommitted);
  store.release({{"Counter", "existing", first.lease.epoch}});
  auto existing = peek(store, "existing");
  PartitionTable(*conn_).release(w, {5});
  auto a = put("fresh", fresh, "v");
  auto b = put("existing", existing, "v2");
  EXPECT_EQ(commit(store, a), CommitOutcome::kFenced);
  EXPECT_EQ(commit(store, b), CommitOutcome::kFenced);
  EXPECT_EQ(row("fresh"), "none");
  EXPECT_EQ(row("existing"), "-/1/1");
}

// An object that runs SQL is claimed when it enters the batch, under the same conditions.
TEST_F(TentativeLeaseTest, AnObjectEnteringTheBatchIsClaimedThere) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto fresh = peek(store, "fresh");
  ASSERT_TRUE(store.enter("Counter", "fresh", fresh));
  EXPECT_FALSE(fresh.tentative);
  EXPECT_EQ(fresh.epoch, 1);
  store.begin_turn();
  store.exec_sql(fresh, "CREATE TABLE t (x int)", {});
  store.end_turn(true);
  std::vector<ObjectCommit> commits{ObjectCommit{"Counter", "fresh", fresh, false, {}}};
  ASSERT_EQ(store.commit(commits)[0], CommitOutcome::kCommitted);
  EXPECT_EQ(row("fresh"), std::to_string(w) + "/1/1");

  auto conn_b = connect(url_);
  ObjectStore other(*conn_b, w);
  auto read = peek(store, "fresh");
  other.claim("Counter", "fresh", 5);  // changes it after the read
  EXPECT_FALSE(store.enter("Counter", "fresh", read));
  EXPECT_TRUE(read.tentative);
  store.abort_batch();
}

TEST_F(TentativeLeaseTest, TheCommitAuditRecordsANewObjectsFirstCommit) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  pqxx::nontransaction(*conn_).exec0("SET dobj.audit_commits = 'on'");
  auto c = put("c1", peek(store, "c1"), "v1");
  ASSERT_EQ(commit(store, c), CommitOutcome::kCommitted);
  ObjectCommit looked_at{"Counter", "looked-at", peek(store, "looked-at"), false, {}};
  ASSERT_EQ(commit(store, looked_at), CommitOutcome::kCommitted);
  pqxx::nontransaction tx(*conn_);
  auto rows = tx.exec("SELECT id, version, epoch, owner FROM dobj.commit_audit");
  ASSERT_EQ(rows.size(), 1u);  // the bare claim is not a commit
  EXPECT_EQ(rows[0][0].as<std::string>(), "c1");
  EXPECT_EQ(rows[0][1].as<int>(), 1);
  EXPECT_EQ(rows[0][2].as<int>(), 1);
  EXPECT_EQ(rows[0][3].as<WorkerId>(), w);
}

}  // namespace
}  // namespace dobj::store
