// One executor shard driven step by step (run_once) with a virtual clock, a real PostgreSQL and
// an in-memory outbox: deterministic queue limits, batching and idle eviction.
#include "shard.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "dobj/protocol/subject.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj {
namespace {

using namespace std::chrono_literals;

class MemoryOutbox final : public Outbox {
 public:
  void reply(const std::string& to, const protocol::Reply& r) override {
    std::lock_guard lock(mutex_);
    replies.emplace_back(to, r);
  }
  void event(const std::string& subject, const std::string&) override {
    std::lock_guard lock(mutex_);
    events.push_back(subject);
  }
  void alarm_hint() override {}
  std::vector<std::pair<std::string, protocol::Reply>> replies;
  std::vector<std::string> events;

 private:
  std::mutex mutex_;
};

class Adder : public Object {
 public:
  Value add(Context& ctx, const Value& arg) {
    auto v = ctx.storage().get("n").value_or(0).get<std::int64_t>() + arg.get<std::int64_t>();
    ctx.storage().put("n", v);
    return v;
  }
};

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.database_url = testing::PostgresServer::shared().create_database(true);
    auto conn = store::connect(config_.database_url);
    config_.worker_id = store::WorkerRegistry(*conn).register_worker({"t", 1, "t"}, 1h);
    store::PartitionTable(*conn).claim_fair_share(config_.worker_id);
    config_.max_object_queue = 2;
    config_.idle_timeout = 30s;
    registry_.add<Adder>("Adder").method("add", &Adder::add);
    shard_ = std::make_unique<Shard>(0, zmq_, config_, outbox_, clock_, [] { return true; });
    push_ = zmq::socket_t(zmq_, zmq::socket_type::push);
    push_.connect(shard_->endpoint());
  }

  void send(const std::string& id, int amount, const std::string& reply_to) {
    auto* c = new ShardCommand();
    c->subject = protocol::parse_inbound_subject(protocol::inbound_subject(0, "Adder", id, "add"));
    c->def = registry_.find("Adder");
    c->method = c->def->find_method("add");
    c->message.reply_to = reply_to;
    c->message.body = std::to_string(amount);
    zmq::message_t msg(&c, sizeof c);
    push_.send(msg, zmq::send_flags::none);
  }

  std::int64_t owned_objects() {
    auto conn = store::connect(config_.database_url);
    pqxx::nontransaction tx(*conn);
    return tx.exec1("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL")[0].as<int>();
  }

  HostConfig config_;
  ClassRegistry registry_;
  MemoryOutbox outbox_;
  ManualClock clock_;
  zmq::context_t zmq_{1};
  std::unique_ptr<Shard> shard_;
  zmq::socket_t push_;
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
  clock_.advance(2s);
  shard_->run_once(1ms);
  EXPECT_EQ(shard_->active_objects(), 0u);
  EXPECT_EQ(owned_objects(), 0);
}

}  // namespace
}  // namespace dobj
