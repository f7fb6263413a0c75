#include "dobj/store/object_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "dobj/core/error.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/retention.hpp"
#include "dobj/store/worker_registry.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::store {
namespace {

using namespace std::chrono_literals;

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresServer::shared().create_database(true);
    conn_ = connect(url_);
  }

  WorkerId add_worker(std::chrono::milliseconds ttl = 60s) {
    return WorkerRegistry(*conn_).register_worker({"test", 1, "t"}, ttl);
  }

  // The only worker, so its fair share is every partition.
  WorkerId add_serving_worker(std::chrono::milliseconds ttl = 60s) {
    auto w = add_worker(ttl);
    PartitionTable(*conn_).claim_fair_share(w);
    return w;
  }

  std::int64_t scalar(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  void expire(WorkerId w) {
    pqxx::nontransaction tx(*conn_);
    tx.exec0("UPDATE dobj.workers SET lease_until = now() - interval '1 second' WHERE id = " +
             std::to_string(w));
  }

  static ObjectCommit put(const ObjectLease& lease, const std::string& key,
                          const std::string& value) {
    return ObjectCommit{"Counter", "c1", lease, false, {KvWrite{key, value}}};
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

TEST_F(ObjectStoreTest, ClaimNeedsThePartition) {
  auto w = add_worker();
  ObjectStore store(*conn_, w);
  EXPECT_FALSE(store.claim("Counter", "c1", 5));
  auto owned = PartitionTable(*conn_).claim_fair_share(w);
  EXPECT_EQ(owned.owned.size(), 256u);
  auto lease = store.claim("Counter", "c1", 5);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->epoch, 1);
  EXPECT_FALSE(lease->schema_exists);
}

TEST_F(ObjectStoreTest, ClaimBumpsTheEpochAndRefusesWhileALiveOwnerHoldsIt) {
  auto a = add_worker();
  PartitionTable(*conn_).claim_fair_share(a);
  ObjectStore store_a(*conn_, a);
  auto first = store_a.claim("Counter", "c1", 5);
  ASSERT_TRUE(first);
  auto again = store_a.claim("Counter", "c1", 5);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->epoch, first->epoch + 1);

  auto b = add_worker();
  auto conn_b = connect(url_);
  ObjectStore store_b(*conn_b, b);
  // b owns no partition and a is live: b cannot take the object.
  EXPECT_FALSE(store_b.claim("Counter", "c1", 5));
  // a dies; b takes over its partitions, then the object, at a higher epoch.
  expire(a);
  EXPECT_EQ(PartitionTable(*conn_b).claim_fair_share(b).owned.size(), 256u);
  auto taken = store_b.claim("Counter", "c1", 5);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->epoch, again->epoch + 1);
}

// A claim writes the object's row and nothing else: no key-share lock on the claimant's row in
// dobj.workers for every object claimed (the foreign key that took one per row, and multixacts
// when two shards claimed at once, is gone: migrations/0018).
TEST_F(ObjectStoreTest, AClaimTakesNoLockOnItsWorkersRow) {
  auto w = add_serving_worker();
  auto holder = connect(url_);
  pqxx::work lock(*holder);
  lock.exec1("SELECT 1 FROM dobj.workers WHERE id = " + std::to_string(w) + " FOR UPDATE");
  pqxx::nontransaction(*conn_).exec0("SET statement_timeout = '3s'");
  ObjectStore store(*conn_, w);
  // With the lock taken per row this waited for `holder` until the statement timed out.
  auto claimed = store.claim_many({{"Counter", "c1", 5}, {"Counter", "c2", 6}});
  EXPECT_TRUE(claimed[0] && claimed[1]);
  lock.abort();
}

// Every path that forgets an object without releasing it (failed commit, failed load, lease dip,
// failed release) leaves the row naming a live worker: the partition's next owner claims it at
// once all the same, and the old holder's commits are fenced.
TEST_F(ObjectStoreTest, AnObjectForgottenByALiveWorkerIsClaimedByThePartitionsNextOwner) {
  auto a = add_worker();
  PartitionTable(*conn_).claim_fair_share(a);
  ObjectStore store_a(*conn_, a);
  auto held = store_a.claim("Counter", "c1", 5);
  ASSERT_TRUE(held);
  // a hands partition 5 over without releasing the object (its release failed), and lives on.
  PartitionTable(*conn_).release(a, {5});
  auto b = add_worker();
  auto conn_b = connect(url_);
  auto share = PartitionTable(*conn_b).claim_fair_share(b);
  ASSERT_NE(std::find(share.owned.begin(), share.owned.end(), 5), share.owned.end());
  ObjectStore store_b(*conn_b, b);
  auto taken = store_b.claim("Counter", "c1", 5);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->epoch, held->epoch + 1);
  std::vector<ObjectCommit> stale{put(*held, "k", "old owner")};
  EXPECT_EQ(store_a.commit(stale), std::vector<CommitOutcome>{CommitOutcome::kFenced});
}

// DESIGN.md §7: a worker whose lease ran out in the database commits nothing, even for objects
// nobody has claimed since; the whole batch fails as "not applied".
TEST_F(ObjectStoreTest, ACommitNeedsTheWritersOwnLease) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto lease = *store.claim("Counter", "c1", 5);
  expire(w);
  std::vector<ObjectCommit> commits{put(lease, "k", "v")};
  try {
    store.commit(commits);
    FAIL() << "a commit without a lease went through";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorageError);
  }
  EXPECT_EQ(scalar("SELECT version FROM dobj.objects WHERE id = 'c1'"), 0);
  // The batch entry of an object with SQL is fenced the same way.
  EXPECT_FALSE(store.enter("Counter", "c1", lease));
  store.abort_batch();
}

TEST_F(ObjectStoreTest, CommitCreatesTheSchemaAndWritesLoadBack) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto lease = *store.claim("Counter", "c1", 5);
  std::vector<ObjectCommit> commits{put(lease, "k", "v1")};
  EXPECT_EQ(store.commit(commits), std::vector<CommitOutcome>{CommitOutcome::kCommitted});
  EXPECT_TRUE(commits[0].lease.schema_exists);
  EXPECT_EQ(store.load(commits[0].lease, "k"), "v1");
  commits = {ObjectCommit{"Counter", "c1", commits[0].lease, false, {KvWrite{"k", std::nullopt}}}};
  store.commit(commits);
  EXPECT_EQ(store.load(commits[0].lease, "k"), std::nullopt);
  EXPECT_EQ(scalar("SELECT version FROM dobj.objects WHERE id = 'c1'"), 2);
}

TEST_F(ObjectStoreTest, StaleEpochCommitIsFencedAndLeavesNothing) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto stale = *store.claim("Counter", "c1", 5);
  auto current = *store.claim("Counter", "c1", 5);
  std::vector<ObjectCommit> commits{put(stale, "k", "stale")};
  EXPECT_EQ(store.commit(commits), std::vector<CommitOutcome>{CommitOutcome::kFenced});
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE schema_name IS NOT NULL"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'o\\_%'"), 0);
  EXPECT_EQ(scalar("SELECT version FROM dobj.objects WHERE id = 'c1'"), 0);
  EXPECT_EQ(store.load(current, "k"), std::nullopt);
}

TEST_F(ObjectStoreTest, AFencedObjectRollsBackAloneInAGroupCommit) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto good = *store.claim("Counter", "good", 1);
  auto stale = *store.claim("Counter", "c1", 5);
  store.claim("Counter", "c1", 5);  // supersedes `stale`
  std::vector<ObjectCommit> commits{
      ObjectCommit{"Counter", "good", good, false, {KvWrite{"k", "g"}}},
      put(stale, "k", "s"),
  };
  EXPECT_EQ(store.commit(commits),
            (std::vector<CommitOutcome>{CommitOutcome::kCommitted, CommitOutcome::kFenced}));
  EXPECT_EQ(store.load(commits[0].lease, "k"), "g");
  EXPECT_EQ(scalar("SELECT version FROM dobj.objects WHERE id = 'c1'"), 0);
}

TEST_F(ObjectStoreTest, ReleaseFreesOnlyTheCurrentEpoch) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto old = *store.claim("Counter", "c1", 5);
  auto current = *store.claim("Counter", "c1", 5);
  store.release({{"Counter", "c1", old.epoch}});
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL"), 1);
  store.release({{"Counter", "c1", current.epoch}});
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL"), 0);
}

// Reads of objects that never stored anything leave nothing behind; an object with a commit keeps
// its row (and its epoch history) when released.
TEST_F(ObjectStoreTest, AReleasedObjectThatNeverCommittedLeavesNoRow) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto read_only = *store.claim("Counter", "looked-at", 5);
  auto written = *store.claim("Counter", "c1", 5);
  std::vector<ObjectCommit> commits{put(written, "k", "v")};
  store.commit(commits);
  store.release({{"Counter", "looked-at", read_only.epoch}, {"Counter", "c1", written.epoch}});
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE id = 'looked-at'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE id = 'c1' AND owner IS NULL"), 1);
}

TEST_F(ObjectStoreTest, WorkerLeaseRenewsOnlyWhileLive) {
  auto w = add_worker(60s);
  WorkerRegistry registry(*conn_);
  EXPECT_EQ(registry.renew(w, 60s), LeaseState::kServing);
  expire(w);
  EXPECT_EQ(registry.renew(w, 60s), LeaseState::kLost);
}

TEST_F(ObjectStoreTest, FairShareSplitsPartitionsBetweenLiveWorkers) {
  auto a = add_worker();
  auto b = add_worker();
  EXPECT_EQ(PartitionTable(*conn_).claim_fair_share(a).owned.size(), 128u);
  EXPECT_EQ(PartitionTable(*conn_).claim_fair_share(b).owned.size(), 128u);
  auto c = add_worker();
  EXPECT_TRUE(PartitionTable(*conn_).claim_fair_share(c).owned.empty());  // nothing free yet
}

TEST_F(ObjectStoreTest, StoredRepliesCommitWithTheObjectAndNotWhenFenced) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto good = *store.claim("Counter", "good", 1);
  auto lost = *store.claim("Counter", "lost", 2);
  {
    pqxx::nontransaction tx(*conn_);
    tx.exec0("UPDATE dobj.objects SET epoch = epoch + 1 WHERE id = 'lost'");
  }
  std::vector<ObjectCommit> commits{
      ObjectCommit{"Counter", "good", good, false, {}},
      ObjectCommit{"Counter", "lost", lost, false, {}},
  };
  commits[0].replies = {{"k1", true, "application/json", "42"}};
  commits[1].replies = {{"k1", true, "application/json", "7"}};
  auto outcomes = store.commit(commits);
  EXPECT_EQ(outcomes[0], CommitOutcome::kCommitted);
  EXPECT_EQ(outcomes[1], CommitOutcome::kFenced);
  auto found = store.find_replies(
      {{"Counter", "good", "k1"}, {"Counter", "lost", "k1"}, {"Counter", "good", "k2"}});
  ASSERT_TRUE(found[0]);
  EXPECT_EQ(found[0]->body, "42");
  EXPECT_FALSE(found[1]);
  EXPECT_FALSE(found[2]);
  {
    pqxx::nontransaction tx(*conn_);
    tx.exec0("UPDATE dobj.idempotency SET expires_at = now() - interval '1 second'");
  }
  EXPECT_FALSE(store.find_replies({{"Counter", "good", "k1"}})[0]);
  // Reused after its window, before housekeeping removed the old row: the key is new again and
  // its new reply is kept for the retries.
  commits = {ObjectCommit{"Counter", "good", commits[0].lease, false, {}}};
  commits[0].replies = {{"k1", true, "application/json", "43"}};
  EXPECT_EQ(store.commit(commits)[0], CommitOutcome::kCommitted);
  auto again = store.find_replies({{"Counter", "good", "k1"}});
  ASSERT_TRUE(again[0]);
  EXPECT_EQ(again[0]->body, "43");
  EXPECT_EQ(expire_stored_replies(*conn_, 100), 0u);
  {
    pqxx::nontransaction tx(*conn_);
    tx.exec0("UPDATE dobj.idempotency SET expires_at = now() - interval '1 second'");
  }
  EXPECT_EQ(expire_stored_replies(*conn_, 100), 1u);
}

TEST_F(ObjectStoreTest, TheCommitAuditRecordsVersionEpochAndOwnerWhenEnabled) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto lease = *store.claim("Counter", "c1", 1);
  std::vector<ObjectCommit> commits{put(lease, "a", "1")};
  store.commit(commits);  // not audited: the session has not asked for it
  pqxx::nontransaction(*conn_).exec0("SET dobj.audit_commits = 'on'");
  commits = {put(commits[0].lease, "a", "2")};
  store.commit(commits);
  pqxx::nontransaction tx(*conn_);
  auto rows = tx.exec("SELECT version, epoch, owner FROM dobj.commit_audit");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<int>(), 2);
  EXPECT_EQ(rows[0][1].as<int>(), 1);
  EXPECT_EQ(rows[0][2].as<WorkerId>(), w);
}

TEST_F(ObjectStoreTest, HandoverHistoryIsLoggedAndOldEntriesArePruned) {
  auto a = add_worker();
  PartitionTable table(*conn_);
  table.claim_fair_share(a);
  EXPECT_EQ(table.release(a, {3, 4}), (std::vector<int>{3, 4}));
  {
    pqxx::nontransaction tx(*conn_);
    EXPECT_EQ(
        tx.exec1("SELECT count(*) FROM dobj_admin.handovers WHERE event = 'released'")[0].as<int>(),
        2);
    tx.exec0("UPDATE dobj.partition_log SET at = now() - interval '8 days' WHERE p = 3");
  }
  EXPECT_EQ(prune_handovers(*conn_, std::chrono::hours(7 * 24), 100), 2u);  // claimed, released
  EXPECT_EQ(prune_handovers(*conn_, std::chrono::hours(7 * 24), 100), 0u);
}

TEST_F(ObjectStoreTest, TheExcessIsTheHighestPartitionsBeyondTheFairShare) {
  PartitionShare share;
  share.owned = {1, 5, 9, 12};
  share.fair_share = 2;
  EXPECT_EQ(share.excess(), (std::vector<int>{9, 12}));
  share.fair_share = 4;
  EXPECT_TRUE(share.excess().empty());
}

// Partitions whose objects the shard map sent elsewhere go back first, whatever the fair share.
TEST_F(ObjectStoreTest, ForeignPartitionsAreExcessBeforeTheFairShareCounts) {
  PartitionShare share;
  share.owned = {1, 5, 9, 12};
  share.foreign = {5};
  share.fair_share = 2;
  EXPECT_EQ(share.excess(), (std::vector<int>{5, 12}));
  share.fair_share = 4;
  EXPECT_EQ(share.excess(), (std::vector<int>{5}));
}

// The database refuses one object's writes (here a trigger stands for any data it cannot take):
// the others of the batch commit without it, and only it is reported.
TEST_F(ObjectStoreTest, AnObjectWhoseCommitFailsIsRejectedAloneAndTheOthersCommit) {
  auto w = add_serving_worker();
  testing::PostgresServer::poison_commits(url_);
  ObjectStore store(*conn_, w);
  std::vector<ObjectCommit> commits;
  for (const char* id : {"a", "poison-1", "b"}) {
    auto lease = *store.claim("Counter", id, 5);
    commits.push_back(ObjectCommit{"Counter", id, lease, false, {KvWrite{"k", std::string(id)}}});
  }
  EXPECT_EQ(store.commit(commits),
            (std::vector<CommitOutcome>{CommitOutcome::kCommitted, CommitOutcome::kRejected,
                                        CommitOutcome::kCommitted}));
  EXPECT_NE(commits[1].rejected.find("poisoned object poison-1"), std::string::npos)
      << commits[1].rejected;
  EXPECT_EQ(store.load(commits[0].lease, "k"), "a");
  EXPECT_EQ(store.load(commits[2].lease, "k"), "b");
  EXPECT_EQ(scalar("SELECT version FROM dobj.objects WHERE id = 'poison-1'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_namespace WHERE nspname = '" +
                   commits[1].lease.schema_name + "'"),
            0);
  // Alone in its batch, the same.
  std::vector<ObjectCommit> alone{commits[1]};
  EXPECT_EQ(store.commit(alone), std::vector<CommitOutcome>{CommitOutcome::kRejected});
}

// Isolating each object (dobj.commit_objects, a subtransaction per call) is for a batch that
// failed; a batch that commits never calls it.
TEST_F(ObjectStoreTest, ABatchThatCommitsTakesNoSubtransaction) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  std::vector<ObjectCommit> commits;
  for (const char* id : {"a", "b"}) {
    auto lease = *store.claim("Counter", id, 5);
    commits.push_back(ObjectCommit{"Counter", id, lease, false, {KvWrite{"k", std::string(id)}}});
  }
  pqxx::nontransaction(*conn_).exec0(
      "DROP FUNCTION dobj.commit_objects(bigint, dobj.object_commit[])");
  EXPECT_EQ(store.commit(commits),
            (std::vector<CommitOutcome>{CommitOutcome::kCommitted, CommitOutcome::kCommitted}));
  EXPECT_EQ(store.load(commits[1].lease, "k"), "b");
}

// Statistics taken while the objects were released say "no object has this owner". A group
// commit and a release must still look each object up by its key: with the owner as a join
// filter, the planner scanned dobj.objects once per object of the batch (an alarm burst's commit
// of 4,096 objects over 100,000 ran into the statement timeout; docs/performance.md). Counted:
// the rows each reads, at most two a key (the lookup, then the update by ctid).
TEST_F(ObjectStoreTest, AGroupCommitAndAReleaseLookObjectsUpByKeyWhateverTheStatisticsSay) {
  auto w = add_serving_worker();
  testing::fill_and_freeze_statistics(
      *conn_, "dobj.objects",
      "INSERT INTO dobj.objects (class, id, p, epoch, version) "
      "  SELECT 'Scratch', 'o' || i, i % 256, 1, 1 FROM generate_series(1, 20000) i");
  ObjectStore store(*conn_, w);
  std::vector<ObjectCommit> commits;
  std::vector<LeaseRef> leases;
  for (int i = 1; i <= 300; ++i) {
    auto id = "o" + std::to_string(i);
    auto lease = store.claim("Scratch", id, i % 256);
    ASSERT_TRUE(lease);
    commits.push_back(ObjectCommit{"Scratch", id, *lease, false, {}, AlarmOp::kDelete});
    leases.push_back({"Scratch", id, lease->epoch});
  }
  auto rows_read = [&] { return testing::rows_read(*conn_, "dobj.objects"); };
  auto before = rows_read();
  auto outcomes = store.commit(commits);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), CommitOutcome::kCommitted), 300);
  EXPECT_LE(rows_read() - before, 2 * 300) << "the commit read dobj.objects beyond its keys";
  before = rows_read();
  store.release(leases);
  EXPECT_LE(rows_read() - before, 2 * 300) << "the release read dobj.objects beyond its keys";
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE version = 2"), 300);
}

// No index covers a column that claims, commits or releases change (migration 0019): all three
// are heap-only updates when the page has room, adding no index entries.
TEST_F(ObjectStoreTest, ClaimsCommitsAndReleasesAreHeapOnlyUpdates) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  std::vector<ObjectCommit> commits{
      ObjectCommit{"Scratch", "a", *store.claim("Scratch", "a", 1), false, {}, AlarmOp::kDelete}};
  ASSERT_EQ(store.commit(commits), std::vector<CommitOutcome>{CommitOutcome::kCommitted});
  auto updates = [&] { return testing::table_counter(*conn_, "dobj.objects", "n_tup_upd"); };
  auto hot = [&] { return testing::table_counter(*conn_, "dobj.objects", "n_tup_hot_upd"); };
  auto updates_before = updates(), hot_before = hot();
  store.release({{"Scratch", "a", commits[0].lease.epoch}});
  commits[0].lease = *store.claim("Scratch", "a", 1);
  ASSERT_EQ(store.commit(commits), std::vector<CommitOutcome>{CommitOutcome::kCommitted});
  EXPECT_EQ(updates() - updates_before, 3);  // release, claim, fencing bump
  EXPECT_EQ(hot() - hot_before, 3);
}

// Statistics taken ten minutes ago say "no stored reply expires this late". Looking up the
// idempotency keys of a batch must still go by key, not read the stored replies once per key:
// it reads at most one row per key.
TEST_F(ObjectStoreTest, StoredRepliesAreLookedUpByKeyWhateverTheStatisticsSay) {
  auto w = add_serving_worker();
  testing::fill_and_freeze_statistics(
      *conn_, "dobj.idempotency",
      "INSERT INTO dobj.idempotency (class, id, key, ok, content_type, reply, expires_at) "
      "  SELECT 'Scratch', 'o' || i, 'k', true, 'application/json', '\\x01', "
      "         now() - interval '1 hour' FROM generate_series(1, 20000) i");
  pqxx::nontransaction(*conn_).exec0(
      "UPDATE dobj.idempotency SET expires_at = now() + interval '1 hour'");
  ObjectStore store(*conn_, w);
  std::vector<ReplyRef> refs;
  for (int i = 1; i <= 300; ++i) refs.push_back({"Scratch", "o" + std::to_string(i), "k"});
  refs.push_back({"Scratch", "o1", "other key"});
  auto before = testing::rows_read(*conn_, "dobj.idempotency");
  auto found = store.find_replies(refs);
  EXPECT_LE(testing::rows_read(*conn_, "dobj.idempotency") - before, 301);
  ASSERT_EQ(found.size(), 301u);
  EXPECT_EQ(std::count_if(found.begin(), found.end(), [](const auto& r) { return r.has_value(); }),
            300);
  EXPECT_FALSE(found.back());
}

// One object writing keys, the commonest commit, runs as a statement prepared for that object
// (PreparedCommits): the same outcomes as the general commit, every one of them.
class PreparedCommitTest : public ObjectStoreTest {
 protected:
  std::int64_t prepared() {
    return scalar(
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'dobj\\_commit\\_%'");
  }
  std::int64_t version(const std::string& id) {
    return scalar("SELECT version FROM dobj.objects WHERE id = '" + id + "'");
  }
  std::vector<CommitOutcome> commit_one(ObjectStore& store, ObjectCommit commit) {
    std::vector<ObjectCommit> commits{std::move(commit)};
    auto outcomes = store.commit(commits);
    last_lease_ = commits[0].lease;
    return outcomes;
  }
  // c1 written twice: its schema exists, and its statement is prepared.
  void write_twice(ObjectStore& store) {
    commit_one(store, put(*store.claim("Counter", "c1", 5), "k", "v1"));
    commit_one(store, put(last_lease_, "k", "v2"));
    ASSERT_EQ(prepared(), 1);
  }
  ObjectLease last_lease_;
};

TEST_F(PreparedCommitTest, CommitsFencesAndRefusesWithoutTheLeaseLikeTheGeneralCommit) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  auto lease = *store.claim("Counter", "c1", 5);
  ASSERT_EQ(commit_one(store, put(lease, "k", "v1"))[0], CommitOutcome::kCommitted);
  EXPECT_EQ(prepared(), 0);  // the first write creates the schema: the general commit
  lease = last_lease_;
  EXPECT_EQ(commit_one(store, put(lease, "k", "v2"))[0], CommitOutcome::kCommitted);
  EXPECT_EQ(prepared(), 1);
  ObjectCommit two{"Counter", "c1", lease, false, {KvWrite{"k", "v3"}, KvWrite{"k2", "w"}}};
  EXPECT_EQ(commit_one(store, two)[0], CommitOutcome::kCommitted);
  EXPECT_EQ(prepared(), 1);
  EXPECT_EQ(store.load(lease, "k"), "v3");
  EXPECT_EQ(store.load(lease, "k2"), "w");
  EXPECT_EQ(version("c1"), 3);

  auto current = *store.claim("Counter", "c1", 5);  // a newer epoch: `lease` is stale
  EXPECT_EQ(commit_one(store, put(lease, "k", "stale"))[0], CommitOutcome::kFenced);
  EXPECT_EQ(store.load(current, "k"), "v3");
  EXPECT_EQ(version("c1"), 3);
  EXPECT_EQ(commit_one(store, put(current, "k", "v4"))[0], CommitOutcome::kCommitted);
  EXPECT_EQ(version("c1"), 4);

  expire(w);
  EXPECT_THROW(commit_one(store, put(current, "k", "late")), Error);
  EXPECT_EQ(store.load(current, "k"), "v4");
  EXPECT_EQ(version("c1"), 4);
}

TEST_F(PreparedCommitTest, ReleaseDropsTheStatementAndANewSchemaGetsANewOne) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  ASSERT_NO_FATAL_FAILURE(write_twice(store));
  // Every key deleted and no tables: the object's schema goes; its next write takes another.
  ObjectCommit wipe{"Counter", "c1", last_lease_, true, {}};
  ASSERT_EQ(commit_one(store, wipe)[0], CommitOutcome::kCommitted);
  ASSERT_FALSE(last_lease_.schema_exists);
  commit_one(store, put(last_lease_, "k", "again"));
  ASSERT_TRUE(last_lease_.schema_exists);
  EXPECT_EQ(commit_one(store, put(last_lease_, "k", "again 2"))[0], CommitOutcome::kCommitted);
  EXPECT_EQ(store.load(last_lease_, "k"), "again 2");
  EXPECT_EQ(prepared(), 1);
  store.release({LeaseRef{"Counter", "c1", last_lease_.epoch}});
  EXPECT_EQ(prepared(), 0);
}

// A turn's SQL runs on the same connection and may drop every prepared statement.
TEST_F(PreparedCommitTest, StatementsDeallocatedBehindItsBackFallBackToTheGeneralCommit) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  ASSERT_NO_FATAL_FAILURE(write_twice(store));
  pqxx::nontransaction(*conn_).exec0("DEALLOCATE ALL");
  EXPECT_EQ(commit_one(store, put(last_lease_, "k", "v3"))[0], CommitOutcome::kCommitted);
  EXPECT_EQ(commit_one(store, put(last_lease_, "k", "v4"))[0], CommitOutcome::kCommitted);
  EXPECT_EQ(store.load(last_lease_, "k"), "v4");
  EXPECT_EQ(version("c1"), 4);
  EXPECT_NO_THROW(store.release({LeaseRef{"Counter", "c1", last_lease_.epoch}}));
}

TEST_F(PreparedCommitTest, AReleaseAfterItsStatementWasDeallocatedStillReleases) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  ASSERT_NO_FATAL_FAILURE(write_twice(store));
  pqxx::nontransaction(*conn_).exec0("DEALLOCATE ALL");
  EXPECT_NO_THROW(store.release({LeaseRef{"Counter", "c1", last_lease_.epoch}}));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE id = 'c1' AND owner IS NULL"), 1);
}

TEST_F(PreparedCommitTest, ObjectsBeyondTheLimitCommitUnprepared) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  const auto n = static_cast<int>(kDefaultPreparedCommits) + 2;
  for (int i = 0; i < n; ++i) {
    auto id = "o" + std::to_string(i);
    commit_one(store,
               ObjectCommit{
                   "Counter", id, *store.claim("Counter", id, 5), false, {KvWrite{"k", "first"}}});
    ASSERT_EQ(
        commit_one(store, ObjectCommit{"Counter", id, last_lease_, false, {KvWrite{"k", id}}})[0],
        CommitOutcome::kCommitted);
    EXPECT_EQ(store.load(last_lease_, "k"), id);
  }
  EXPECT_EQ(prepared(), static_cast<std::int64_t>(kDefaultPreparedCommits));
}

TEST_F(PreparedCommitTest, AFailingOneObjectCommitIsRejected) {
  auto w = add_serving_worker();
  ObjectStore store(*conn_, w);
  ObjectCommit first{
      "Counter", "poison-1", *store.claim("Counter", "poison-1", 5), false, {KvWrite{"k", "v1"}}};
  ASSERT_EQ(commit_one(store, first)[0], CommitOutcome::kCommitted);
  auto lease = last_lease_;
  ASSERT_TRUE(lease.schema_exists);
  testing::PostgresServer::poison_commits(url_);
  std::vector<ObjectCommit> commits{
      ObjectCommit{"Counter", "poison-1", lease, false, {KvWrite{"k", "v2"}}}};
  EXPECT_EQ(store.commit(commits), std::vector<CommitOutcome>{CommitOutcome::kRejected});
  EXPECT_NE(commits[0].rejected.find("poisoned object poison-1"), std::string::npos);
  EXPECT_EQ(store.load(lease, "k"), "v1");
}

}  // namespace
}  // namespace dobj::store
