// One executor shard driven step by step (run_once) with a virtual clock, a real PostgreSQL and
// an in-memory outbox: deterministic queue limits, batching and idle eviction.
#include "dobj/protocol/partition.hpp"
#include "partition_set.hpp"
#include "shard.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <utility>

#include "dobj/protocol/subject.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj {
namespace {

using namespace std::chrono_literals;

class MemoryOutbox final : public Outbox {
 public:
  void reply(const std::string& to, const protocol::Reply& r, Delivery delivery) override {
    std::lock_guard lock(mutex_);
    replies.emplace_back(to, r);
    deliveries.push_back(delivery);
  }
  void event(const std::string& subject, const std::string&, const std::string&) override {
    std::lock_guard lock(mutex_);
    events.push_back(subject);
  }
  void alarm_hint() override {}
  void flush() override {
    std::lock_guard lock(mutex_);
    flushed_after.push_back(replies.size());
  }
  void messages_committed(std::vector<store::DurableMessage> committed) override {
    std::lock_guard lock(mutex_);
    for (auto& m : committed) messages.push_back(std::move(m));
  }
  std::vector<std::pair<std::string, protocol::Reply>> replies;
  std::vector<Delivery> deliveries;  // one per reply
  std::vector<std::string> events;
  std::vector<store::DurableMessage> messages;
  std::vector<std::size_t> flushed_after;  // replies.size() at each flush

 private:
  std::mutex mutex_;
};

// Counts the claims the shard reports (objects claimed in turn and ahead, refused).
class ClaimCounter final : public HostObserver {
 public:
  void replied(std::string_view, std::string_view, std::string_view,
               std::chrono::nanoseconds) override {}
  void turn_ran(std::string_view, std::string_view, std::chrono::nanoseconds) override {}
  void committed(std::chrono::nanoseconds, std::size_t) override {}
  void claimed(std::size_t objects, std::size_t refusals, bool ahead) override {
    (ahead ? claimed_ahead : claimed_in_turn) += objects;
    refused += refusals;
  }
  std::atomic<std::size_t> claimed_in_turn{0}, claimed_ahead{0}, refused{0};
};

class Adder : public Object {
 public:
  // A turn whose argument is not an integer throws: its instance is discarded.
  Value add(Context& ctx, const Value& arg) {
    auto v = ctx.storage().get("n").value_or(0).get<std::int64_t>() + arg.get<std::int64_t>();
    ctx.storage().put("n", v);
    if (auto hook = std::exchange(during_add, nullptr)) hook();
    return v;
  }
  // Runs inside the next turn (once): e.g. a message arriving while the shard is busy.
  static inline std::function<void()> during_add;
  void on_deactivate() override { ++deactivations; }
  static inline std::atomic<int> deactivations{0};
};

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.database_url = testing::PostgresServer::shared().create_database(true);
    auto conn = store::connect(config_.database_url.get());
    config_.worker_id = store::WorkerRegistry(*conn).register_worker({"t", 1, "t"}, 1h);
    store::PartitionTable(*conn).claim_fair_share(config_.worker_id);
    config_.max_object_queue = 2;
    config_.idle_timeout = 30s;
    registry_.add<Adder>("Adder").method("add", &Adder::add);
    Adder::deactivations = 0;
    Adder::during_add = nullptr;
    valid_id_ = config_.worker_id;
    std::vector<int> all(256);
    for (int p = 0; p < 256; ++p) all[p] = p;
    owned_.set(all, true);
    config_.observer = &claims_;
    make_shard();
  }

  // A shard of config_ as it is now (tests change it first), replacing the fixture's.
  void make_shard() {
    // Made before the old one goes: a shard's address names its endpoint.
    auto fresh =
        std::make_unique<Shard>(0, zmq_, config_, owned_, outbox_, clock_,
                                [this](store::WorkerId id) { return id == valid_id_.load(); });
    mailbox_.reset();
    shard_ = std::move(fresh);
    mailbox_ = std::make_unique<ShardMailbox::Sender>(zmq_, shard_->endpoint(), 1000);
  }

  std::unique_ptr<ShardCommand> command(const std::string& id, int amount,
                                        const std::string& reply_to) {
    auto c = std::make_unique<ShardCommand>();
    c->subject = protocol::parse_inbound_subject(
        protocol::inbound_subject(protocol::partition_of("Adder", id, 256), "Adder", id, "add"));
    c->def = registry_.find("Adder");
    c->method = c->def->find_method("add");
    c->message.reply_to = reply_to;
    c->message.body = std::to_string(amount);
    return c;
  }

  void push(std::unique_ptr<ShardCommand> c) { mailbox_->send(std::move(c), false); }

  void send(const std::string& id, int amount, const std::string& reply_to) {
    push(command(id, amount, reply_to));
  }

  void send_keyed(const std::string& id, int amount, const std::string& reply_to,
                  const std::string& key) {
    auto c = command(id, amount, reply_to);
    c->message.idempotency_key = key;
    push(std::move(c));
  }

  std::string body_of(const std::string& reply_to) {
    for (const auto& [to, r] : outbox_.replies) {
      if (to == reply_to) return r.body;
    }
    return "<no reply to " + reply_to + ">";
  }

  // What the worker does after losing its lease: stops the old registration, registers anew,
  // claims the partitions again and rebinds the shard to the new id (returned).
  store::WorkerId register_anew() {
    auto conn = store::connect(config_.database_url.get());
    store::WorkerRegistry registry(*conn);
    registry.mark_stopped(config_.worker_id);
    auto fresh = registry.register_worker({"t", 2, "t"}, 1h);
    store::PartitionTable(*conn).claim_fair_share(fresh);
    valid_id_ = fresh;
    auto rebind = std::make_unique<ShardCommand>();
    rebind->kind = ShardCommand::Kind::kRebind;
    rebind->worker_id = fresh;
    push(std::move(rebind));
    return fresh;
  }

  std::int64_t owned_objects() {
    auto conn = store::connect(config_.database_url.get());
    pqxx::nontransaction tx(*conn);
    return tx.exec1("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL")[0].as<int>();
  }

  HostConfig config_;
  ClaimCounter claims_;
  ClassRegistry registry_;
  MemoryOutbox outbox_;
  ManualClock clock_;
  PartitionSet owned_{256};
  std::atomic<store::WorkerId> valid_id_{0};
  zmq::context_t zmq_{1};
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<ShardMailbox::Sender> mailbox_;
};

TEST_F(ShardTest, ABatchRunsEveryQueuedTurnAndRepliesAfterOneCommit) {
  send("a", 1, "r1");
  send("a", 2, "r2");
  send("b", 5, "r3");
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 3u);
  EXPECT_EQ(outbox_.replies[0].second.body, "1");
  EXPECT_EQ(outbox_.replies[1].second.body, "3");
  EXPECT_EQ(outbox_.replies[2].second.body, "5");
}

TEST_F(ShardTest, RepliesAreFlushedOnceNothingElseWaitsForTheShard) {
  using Delivery = Outbox::Delivery;
  // A message arriving during the turn: its reply follows in the next iteration, so this one's
  // is buffered and not flushed alone.
  Adder::during_add = [this] { send("b", 2, "r2"); };
  send("a", 1, "r1");
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 1u);
  EXPECT_EQ(outbox_.deliveries, std::vector<Delivery>{Delivery::kBuffered});
  EXPECT_TRUE(outbox_.flushed_after.empty());
  // The last message, alone: its reply leaves at once, with no flush to ask for.
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 2u);
  EXPECT_EQ(outbox_.deliveries, (std::vector<Delivery>{Delivery::kBuffered, Delivery::kNow}));
  EXPECT_TRUE(outbox_.flushed_after.empty());
  // More replies than go at once, nothing behind them: buffered, then one flush.
  const auto many = HostConfig::kDefaultDirectReplies + 2;
  for (std::size_t i = 0; i < many; ++i)
    send("c" + std::to_string(i), 1, "r" + std::to_string(3 + i));
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 2 + many);
  EXPECT_EQ(outbox_.deliveries.back(), Delivery::kBuffered);
  EXPECT_EQ(outbox_.flushed_after, std::vector<std::size_t>{2 + many});
}

// An object whose first message arrives during a turn is claimed while that turn's batch
// commits (on the shard's second connection), and runs its turn in the next iteration.
TEST_F(ShardTest, AnObjectArrivingDuringABatchIsClaimedWhileTheBatchCommits) {
  Adder::during_add = [this] { send("b", 5, "r2"); };
  send("a", 1, "r1");
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 1u);
  EXPECT_EQ(shard_->claims_ahead(), 1u);
  EXPECT_EQ(owned_objects(), 2);  // b's claim is in before its turn
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 2u);
  EXPECT_EQ(body_of("r2"), "5");
  EXPECT_EQ(shard_->claims_ahead(), 1u);   // a and b were claimed already
  EXPECT_EQ(claims_.claimed_in_turn, 1u);  // what the worker's metrics count
  EXPECT_EQ(claims_.claimed_ahead, 1u);
  EXPECT_EQ(claims_.refused, 0u);
}

// A partial fault: the second connection dies. The objects it was to claim are claimed in the
// next iteration on the shard's own connection, and the one after that connects anew.
TEST_F(ShardTest, AnObjectWhoseClaimAheadFailsIsClaimedInTheNextIteration) {
  Adder::during_add = [this] { send("b", 5, "r2"); };
  send("a", 1, "r1");
  shard_->run_once(1s);
  shard_->run_once(1s);
  ASSERT_EQ(shard_->claims_ahead(), 1u);
  // The claim connection's last statement was its claim; the shard's own has committed since.
  auto admin = store::connect(config_.database_url.get());
  ASSERT_EQ(pqxx::nontransaction(*admin)
                .exec1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                       "AND query LIKE '%INSERT INTO dobj.objects AS o%'")[0]
                .as<int>(),
            1);
  Adder::during_add = [this] { send("c", 7, "r3"); };
  send("a", 1, "r4");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("r4"), "2");
  EXPECT_EQ(shard_->claims_ahead(), 1u);  // failed
  shard_->run_once(1s);
  EXPECT_EQ(body_of("r3"), "7");
  // A new connection for the next claim ahead.
  Adder::during_add = [this] { send("d", 9, "r5"); };
  send("a", 1, "r6");
  shard_->run_once(1s);
  shard_->run_once(1s);
  EXPECT_EQ(body_of("r5"), "9");
  EXPECT_EQ(shard_->claims_ahead(), 2u);
}

// The host still serves a partition the database has just taken away (a handover in flight):
// the claim is refused, the message answered `moved`, and the observer counts the refusal.
TEST_F(ShardTest, AnObjectWhosePartitionTheDatabaseGaveAwayIsRefusedAndCounted) {
  ASSERT_NE(protocol::partition_of("Adder", "gone", 256),
            protocol::partition_of("Adder", "kept", 256));
  auto admin = store::connect(config_.database_url.get());
  pqxx::nontransaction(*admin).exec_params("UPDATE dobj.partitions SET owner = NULL WHERE p = $1",
                                           protocol::partition_of("Adder", "gone", 256));
  send("gone", 1, "r1");
  send("kept", 1, "r2");
  shard_->run_once(1s);
  EXPECT_EQ(Value::parse(body_of("r1"))["error"]["code"], "moved");
  EXPECT_EQ(body_of("r2"), "1");
  EXPECT_EQ(claims_.claimed_in_turn, 1u);
  EXPECT_EQ(claims_.refused, 1u);
}

TEST_F(ShardTest, WithoutClaimsAheadAnArrivingObjectIsClaimedInTheNextIteration) {
  config_.claim_ahead = false;
  make_shard();
  Adder::during_add = [this] { send("b", 5, "r2"); };
  send("a", 1, "r1");
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 1u);
  EXPECT_EQ(owned_objects(), 1);
  shard_->run_once(1s);
  EXPECT_EQ(body_of("r2"), "5");
  EXPECT_EQ(shard_->claims_ahead(), 0u);
  EXPECT_EQ(claims_.claimed_in_turn, 2u);
  EXPECT_EQ(claims_.claimed_ahead, 0u);
}

// Messages are taken during a commit only up to the first control command, which waits for the
// next iteration: a fence (or stop, handover, rebind) never lands in the middle of a commit, and
// what was queued behind it is not claimed before it.
TEST_F(ShardTest, AControlCommandArrivingDuringABatchWaitsForTheNextIteration) {
  Adder::during_add = [this] {
    auto fence = std::make_unique<ShardCommand>();
    fence->kind = ShardCommand::Kind::kFence;
    push(std::move(fence));
    send("b", 5, "r2");
  };
  send("a", 1, "r1");
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 1u);
  EXPECT_EQ(body_of("r1"), "1");  // committed and answered: the fence came after its turn
  EXPECT_EQ(shard_->claims_ahead(), 0u);
  EXPECT_EQ(owned_objects(), 1);
  // The fence drops a (it reloads from the database), then b runs.
  shard_->run_once(1s);
  EXPECT_EQ(body_of("r2"), "5");
  EXPECT_EQ(shard_->active_objects(), 1u);
}

TEST_F(ShardTest, WithoutDirectRepliesEveryReplyIsBufferedAndFlushed) {
  config_.direct_replies = 0;
  make_shard();
  send("a", 1, "r1");
  shard_->run_once(1s);
  ASSERT_EQ(outbox_.replies.size(), 1u);
  EXPECT_EQ(outbox_.deliveries, std::vector<Outbox::Delivery>{Outbox::Delivery::kBuffered});
  EXPECT_EQ(outbox_.flushed_after, std::vector<std::size_t>{1});
}

// The database reached by another URL (the worker's storage shard after `dobj shards set-url`):
// the shard connects by it at its next iteration, idle or not, its objects staying in memory.
TEST_F(ShardTest, ANewDatabaseUrlIsTakenAtTheNextIteration) {
  send("a", 1, "r1");
  shard_->run_once(1s);
  ASSERT_EQ(body_of("r1"), "1");
  auto sessions_named = [&](const std::string& name) {
    auto admin = store::connect(config_.database_url.get());
    return pqxx::nontransaction(*admin)
        .exec_params1(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = $1 AND pid <> pg_backend_pid()",
            name)[0]
        .as<int>();
  };
  ASSERT_EQ(sessions_named("moved"), 0);
  config_.database_url.set(config_.database_url.get() + "?application_name=moved");
  shard_->run_once(1ms);  // idle
  EXPECT_EQ(sessions_named("moved"), 1);
  send("a", 1, "r2");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("r2"), "2");
  EXPECT_EQ(sessions_named("moved"), 1);
  EXPECT_EQ(shard_->active_objects(), 1u);
}

TEST_F(ShardTest, MessagesBeyondTheObjectQueueLimitGetOverloaded) {
  for (int i = 0; i < 5; ++i) send("q", 1, "r" + std::to_string(i));
  shard_->run_once(1s);
  int ok = 0, overloaded = 0;
  for (const auto& [to, r] : outbox_.replies) {
    if (r.ok) ++ok;
    if (!r.ok && Value::parse(r.body)["error"]["code"] == "overloaded") ++overloaded;
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(overloaded, 3);
}

TEST_F(ShardTest, IdleObjectsAreEvictedByTheVirtualClock) {
  send("idle", 1, "r");
  shard_->run_once(1s);
  EXPECT_EQ(shard_->active_objects(), 1u);
  EXPECT_EQ(owned_objects(), 1);
  clock_.advance(29s);
  shard_->run_once(1ms);
  EXPECT_EQ(shard_->active_objects(), 1u);
  EXPECT_EQ(Adder::deactivations, 0);
  clock_.advance(2s);
  shard_->run_once(1ms);
  EXPECT_EQ(shard_->active_objects(), 0u);
  EXPECT_EQ(owned_objects(), 0);
  EXPECT_EQ(Adder::deactivations, 1);  // on_deactivate, as it left memory
}

// The connection's caches grow with every object it touches: it is replaced past the limit only
// once most of what it touched has left the shard, never while its objects are still here (a new
// connection would touch them all again, cold).
TEST_F(ShardTest, TheConnectionIsReplacedOnlyOnceTheObjectsItTouchedHaveLeft) {
  config_.max_schemas_per_connection = 10;
  auto shard =
      std::make_unique<Shard>(1, zmq_, config_, owned_, outbox_, clock_,
                              [this](store::WorkerId id) { return id == valid_id_.load(); });
  ShardMailbox::Sender mailbox(zmq_, shard->endpoint(), 1000);
  auto run = [&](const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) mailbox.send(command(prefix + std::to_string(i), 1, prefix), false);
    auto before = outbox_.replies.size();
    while (outbox_.replies.size() < before + static_cast<std::size_t>(n)) shard->run_once(1s);
  };
  run("w", 15);  // 15 schemas touched, 15 objects here
  run("w", 15);
  EXPECT_EQ(shard->active_objects(), 15u);
  EXPECT_EQ(shard->connection_replacements(), 0u) << "replaced while its objects were here";
  clock_.advance(31s);  // all of them idle: evicted
  shard->run_once(1ms);
  EXPECT_EQ(shard->active_objects(), 0u);
  run("n", 1);  // touched 15 (+1), here 1: most caches belong to objects gone
  EXPECT_EQ(shard->connection_replacements(), 1u);
  run("w", 3);  // the old objects come back on the new connection, their values kept
  for (const auto& [to, r] : outbox_.replies) EXPECT_TRUE(r.ok) << r.body;
  EXPECT_EQ(outbox_.replies.back().second.body, "3");
}

// A throwing handler's instance is discarded, not deactivated: on_deactivate runs only for an
// instance that leaves in good order (here: when the next one is evicted).
TEST_F(ShardTest, AThrowingTurnDiscardsItsInstanceWithoutOnDeactivate) {
  send("t", 1, "r1");
  auto bad = command("t", 0, "r2");
  bad->message.body = R"("not a number")";
  push(std::move(bad));
  shard_->run_once(1s);
  EXPECT_EQ(Value::parse(body_of("r2"))["error"]["code"], "handler_error");
  EXPECT_EQ(Adder::deactivations, 0);
  send("t", 2, "r3");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("r3"), "3");
  clock_.advance(31s);
  shard_->run_once(1ms);
  EXPECT_EQ(Adder::deactivations, 1);
}

TEST_F(ShardTest, ARetriedIdempotencyKeyGetsTheFirstReplyAndRunsOnce) {
  send_keyed("k", 5, "first", "key-1");
  shard_->run_once(1s);
  send_keyed("k", 5, "retry", "key-1");  // a later batch: found in dobj.idempotency
  send_keyed("k", 1, "other", "key-2");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("first"), "5");
  EXPECT_EQ(body_of("retry"), "5");
  EXPECT_EQ(body_of("other"), "6");
}

TEST_F(ShardTest, ADuplicateKeyInTheSameBatchGetsTheSameReply) {
  send_keyed("d", 2, "a", "same");
  send_keyed("d", 2, "b", "same");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("a"), "2");
  EXPECT_EQ(body_of("b"), "2");
  send("d", 0, "check");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("check"), "2");
}

TEST_F(ShardTest, AMessageWhoseTimeoutRanOutWhileQueuedDoesNotRun) {
  auto c = command("t", 7, "late");
  c->deadline = clock_.now() + 10ms;
  push(std::move(c));
  clock_.advance(1s);
  shard_->run_once(1s);
  EXPECT_EQ(Value::parse(body_of("late"))["error"]["code"], "timeout");
  send("t", 0, "check");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("check"), "0");
}

TEST_F(ShardTest, AHandoverCommitsQueuedTurnsGivesTheObjectsBackAndLaterMessagesGetMoved) {
  int p = protocol::partition_of("Adder", "h", 256);
  send("h", 3, "before");
  owned_.set({p}, false);  // what Host::hand_over_partitions does first
  auto handover = std::make_unique<ShardCommand>();
  handover->kind = ShardCommand::Kind::kHandOver;
  handover->handover = std::make_shared<PartitionHandover>(std::set<int>{p}, 1);
  auto handle = handover->handover;
  push(std::move(handover));
  send("h", 1, "after");
  shard_->run_once(1s);
  EXPECT_TRUE(handle->wait(0ms));
  EXPECT_EQ(body_of("before"), "3");
  EXPECT_EQ(Value::parse(body_of("after"))["error"]["code"], "moved");
  EXPECT_EQ(shard_->active_objects(), 0u);
  EXPECT_EQ(owned_objects(), 0);
}

TEST_F(ShardTest, WithoutAValidLeaseNothingRepliesAndARebindCommitsUnderTheNewId) {
  send("r", 4, "one");
  shard_->run_once(1s);
  valid_id_ = 0;  // the lease ran out
  send("r", 1, "unleased");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("unleased"), "<no reply to unleased>");

  auto fresh = register_anew();
  send("r", 1, "rebound");
  shard_->run_once(1s);
  EXPECT_EQ(body_of("rebound"), "5");
  auto conn = store::connect(config_.database_url.get());
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT owner FROM dobj.objects WHERE id = 'r'")[0].as<std::int64_t>(), fresh);
}

TEST_F(ShardTest, AMessageAnEarlierRegistrationReceivedIsNeitherRunNorAnsweredAfterTheRebind) {
  send("e", 2, "first");
  shard_->run_once(1s);
  ASSERT_EQ(body_of("first"), "2");
  auto earlier = config_.worker_id;
  auto fresh = register_anew();
  // Taken by the earlier registration's subscription, it reaches the shard after the rebind:
  // another worker may have taken it too, so this one neither runs nor answers it.
  auto held = command("e", 5, "held");
  held->message.registration = earlier;
  push(std::move(held));
  auto current = command("e", 1, "current");
  current->message.registration = fresh;
  push(std::move(current));
  shard_->run_once(1s);
  EXPECT_EQ(body_of("held"), "<no reply to held>");
  EXPECT_EQ(body_of("current"), "3");  // 2 + 1: the held 5 never ran
}

}  // namespace
}  // namespace dobj
