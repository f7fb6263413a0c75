// The Courier stepped by hand on a virtual clock, against a real nats-server and PostgreSQL with
// no worker serving the target: its backoff, and what becomes of a message too old to send; and
// an awaited call's two legs, with the test playing the callee and the caller.
#include "courier.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "dobj/core/clock.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/store/database.hpp"
#include "dobj/testing/nats_server.hpp"
#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/process.hpp"

namespace dobj {
namespace {

using namespace std::chrono_literals;

class CourierTest : public ::testing::Test {
 protected:
  CourierTest()
      : url_(testing::PostgresServer::shared().create_database(true)),
        conn_(store::connect(url_)),
        nats_(NatsConnection::Options{nats_server_.service_url(), "courier-test"}) {
    // The sender exists; its message waits in dobj.outbox for Counter.nobody.inc, which no
    // worker serves.
    exec("INSERT INTO dobj.objects (class, id, p, epoch) VALUES ('Scratch', 'sender', 7, 1)");
    exec(
        "INSERT INTO dobj.outbox (sender_class, sender_id, seq, p, target_class, target_id, "
        "method, body) VALUES ('Scratch', 'sender', 1, 7, 'Counter', 'nobody', 'inc', '\\x80')");
  }

  Courier make(Courier::Config config) {
    config.partitions = 256;
    config.paused = true;  // stepped by the test
    return Courier(
        config, url_, nats_, [] { return store::WorkerId{0}; }, clock_,
        [this](const char* outcome) { outcomes_.push_back(outcome); });
  }
  static store::DurableMessage message(std::chrono::system_clock::time_point created) {
    return store::DurableMessage{
        "Scratch",
        "sender",
        1,
        7,
        false,
        "Counter",
        "nobody",
        "inc",
        "\x80",
        "",
        0,
        std::chrono::duration_cast<std::chrono::microseconds>(created.time_since_epoch()).count()};
  }
  std::int64_t scalar(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    auto r = tx.exec1(sql);
    return r[0].is_null() ? -1 : r[0].as<std::int64_t>();
  }
  void exec(const std::string& sql) { pqxx::nontransaction(*conn_).exec0(sql); }
  std::int64_t attempts() { return scalar("SELECT attempts FROM dobj.outbox"); }
  // Steps until the attempts recorded reach n (the no-responders answer comes on NATS's thread).
  bool steps_until_attempts(Courier& courier, std::int64_t n) {
    return testing::wait_until(
        [&] {
          courier.step_now();
          return attempts() >= n;
        },
        10s);
  }

  // Steps for a while of real time: long enough for an answer to a send, had there been one.
  static void steps_for(Courier& courier, std::chrono::milliseconds window) {
    auto until = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < until) courier.step_now();
  }

  testing::NatsServer nats_server_;
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  NatsConnection nats_;
  ManualClock clock_;
  std::vector<std::string> outcomes_;
};

TEST_F(CourierTest, NoTakerMeansAgainAfterABackoffThatDoublesOnTheClock) {
  Courier::Config config;
  config.first_backoff = 100ms;
  config.max_backoff = 200ms;
  auto courier = make(config);
  courier.start();
  courier.messages_committed({message(std::chrono::system_clock::now())});
  ASSERT_TRUE(steps_until_attempts(courier, 1));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.outbox WHERE last_error LIKE 'no worker%'"), 1);
  // Not again before the backoff is over, however often it steps.
  steps_for(courier, 300ms);
  EXPECT_EQ(attempts(), 1);
  clock_.advance(100ms);
  ASSERT_TRUE(steps_until_attempts(courier, 2));
  clock_.advance(150ms);  // the second wait is 200 ms
  steps_for(courier, 300ms);
  EXPECT_EQ(attempts(), 2);
  clock_.advance(50ms);
  ASSERT_TRUE(steps_until_attempts(courier, 3));
  clock_.advance(200ms);  // capped at max_backoff
  ASSERT_TRUE(steps_until_attempts(courier, 4));
  EXPECT_EQ(std::count(outcomes_.begin(), outcomes_.end(), "retried"), 4);
  EXPECT_EQ(courier.senders_pending(), 1u);
  courier.stop();
}

// Past max_age a target could no longer recognise the message by its key: it is dead with
// `timeout` (its outcome unknown) rather than risk being applied twice.
TEST_F(CourierTest, AMessageOlderThanMaxAgeDiesWithTimeout) {
  Courier::Config config;
  config.max_age = 5min;
  auto courier = make(config);
  courier.start();
  courier.messages_committed({message(std::chrono::system_clock::now() - 6min)});
  courier.step_now();
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.outbox"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.dead_messages WHERE error_code = 'timeout' AND "
                   "target_id = 'nobody' AND attempts = 1"),
            1);
  EXPECT_EQ(outcomes_, std::vector<std::string>{"dead"});
  courier.step_now();
  EXPECT_EQ(courier.senders_pending(), 0u);
  courier.stop();
}

// The test's side of an awaited call: a callee and a caller answering on the mapped subjects,
// each recording what reached it.
class CallPeers {
 public:
  // The callee answers from its `silent_first`+1-th request on (a lost answer before that).
  CallPeers(NatsConnection& nats, std::optional<Value> callee_answer, int silent_first = 0)
      : nats_(nats), silent_first_(silent_first) {
    auto on = [&](const std::string& c, const std::string& id, const std::string& method) {
      return protocol::inbound_subject(protocol::partition_of(c, id, 256), c, id, method);
    };
    if (callee_answer) {
      callee_ =
          nats.subscribe(on("Counter", "callee", "get"),
                         [this, a = *callee_answer](natsMsg* m) { answer(m, a, &to_callee_); });
    }
    caller_ = nats.subscribe(on("Scratch", "sender", "$result"),
                             [this](natsMsg* m) { answer(m, nullptr, &to_caller_); });
    nats.flush(5s);
  }
  std::vector<NatsMessage> to_callee() {
    std::lock_guard lock(mutex_);
    return to_callee_;
  }
  std::vector<NatsMessage> to_caller() {
    std::lock_guard lock(mutex_);
    return to_caller_;
  }

 private:
  void answer(natsMsg* raw, const Value& value, std::vector<NatsMessage>* log) {
    auto m = NatsMessage::from(raw);
    natsMsg_Destroy(raw);
    if (log == &to_callee_) {
      std::lock_guard lock(mutex_);
      if (static_cast<int>(to_callee_.size()) < silent_first_) {
        to_callee_.push_back(std::move(m));
        return;
      }
    }
    nats_.publish(m.reply_to, protocol::encode_body(protocol::ContentType::kMsgpack, value),
                  {{protocol::kStatusHeader, protocol::kStatusOk},
                   {protocol::kContentTypeHeader, protocol::kMsgpackContentType}});
    std::lock_guard lock(mutex_);
    log->push_back(std::move(m));
  }
  NatsConnection& nats_;
  int silent_first_;
  std::mutex mutex_;
  std::vector<NatsMessage> to_callee_, to_caller_;
  NatsSubscription callee_, caller_;
};

class CourierCallTest : public CourierTest {
 protected:
  // Counter.callee.get, awaited by Scratch.sender (seq 2) in a chain that Up/one began.
  store::DurableMessage call(std::chrono::system_clock::time_point deadline) {
    auto m = message(std::chrono::system_clock::now());
    m.seq = 2;
    m.target_id = "callee";
    m.method = "get";
    m.call = protocol::encode_body(
        protocol::ContentType::kMsgpack,
        Value{{"then", "resumed"},
              {"carry", "c"},
              {"reply_to", "_INBOX.client.1"},
              {"reply_type", "application/json"},
              {"reply_key", ""},
              {"chain", "Up/one"},
              {"deadline_us",
               std::chrono::duration_cast<std::chrono::microseconds>(deadline.time_since_epoch())
                   .count()}});
    pqxx::work tx(*conn_);
    tx.exec_params0(
        "INSERT INTO dobj.outbox (sender_class, sender_id, seq, p, kind, target_class, "
        "target_id, method, body, call) VALUES ('Scratch', 'sender', 2, 7, 'call', 'Counter', "
        "'callee', 'get', '\\xc0', $1)",
        pqxx::binarystring(m.call));
    tx.commit();
    return m;
  }
  bool steps_until(Courier& courier, const std::function<bool()>& done) {
    return testing::wait_until(
        [&] {
          courier.step_now();
          return done();
        },
        10s);
  }
  std::int64_t calls_left() {
    return scalar("SELECT count(*) FROM dobj.outbox WHERE kind = 'call'");
  }
};

TEST_F(CourierCallTest, ACallGoesWithItsChainAndKeyAndItsResultGoesBackToTheCaller) {
  CallPeers peers(nats_, Value(41));
  auto courier = make({});
  courier.start();
  courier.messages_committed({call(std::chrono::system_clock::now() + 60s)});
  ASSERT_TRUE(steps_until(courier, [&] { return calls_left() == 0; }));
  auto got = peers.to_callee();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header(protocol::kCallChainHeader), "Up/one,Scratch/sender");
  EXPECT_EQ(got[0].header(protocol::kSenderHeader), "Scratch/sender");
  auto key = got[0].header(protocol::kIdempotencyKeyHeader).value_or("");
  EXPECT_TRUE(key.starts_with("call:") && key.ends_with(":2")) << key;
  auto left = std::stoll(got[0].header(protocol::kTimeoutHeader).value_or("0"));
  EXPECT_GT(left, 50'000);
  EXPECT_LE(left, 60'000);
  EXPECT_TRUE(got[0].reply_to.starts_with(protocol::kSendInboxPrefix)) << got[0].reply_to;
  auto back = peers.to_caller();
  ASSERT_EQ(back.size(), 1u);
  auto result = protocol::decode_body(protocol::ContentType::kMsgpack, back[0].body);
  EXPECT_EQ(result["ok"], true);
  EXPECT_EQ(result["value"], 41);
  EXPECT_EQ(result["route"]["then"], "resumed");
  EXPECT_EQ(result["route"]["carry"], "c");
  EXPECT_EQ(result["route"]["reply_to"], "_INBOX.client.1");
  auto result_key = back[0].header(protocol::kIdempotencyKeyHeader).value_or("");
  EXPECT_EQ(result_key, "result:" + key.substr(5));
  EXPECT_TRUE(back[0].reply_to.starts_with(protocol::kSendInboxPrefix));
  EXPECT_EQ(std::count(outcomes_.begin(), outcomes_.end(), "delivered"), 1);
  courier.stop();
}

// A resend carries the same key: a callee that applied the first (its answer lost) answers the
// second from its stored reply instead of applying it again.
TEST_F(CourierCallTest, AnUnansweredCallGoesAgainAfterTheReplyTimeoutWithTheSameKey) {
  CallPeers peers(nats_, Value(7), 1);
  Courier::Config config;
  config.reply_timeout = 5s;
  auto courier = make(config);
  courier.start();
  courier.messages_committed({call(std::chrono::system_clock::now() + 60s)});
  ASSERT_TRUE(steps_until(courier, [&] { return peers.to_callee().size() == 1; }));
  // Not again before the reply timeout on the courier's clock, however often it steps.
  steps_for(courier, 300ms);
  EXPECT_EQ(peers.to_callee().size(), 1u);
  clock_.advance(5s);
  ASSERT_TRUE(steps_until(courier, [&] { return calls_left() == 0; }));
  auto got = peers.to_callee();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header(protocol::kIdempotencyKeyHeader),
            got[1].header(protocol::kIdempotencyKeyHeader));
  EXPECT_NE(got[0].reply_to, got[1].reply_to);  // a request of its own
  auto back = peers.to_caller();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(protocol::decode_body(protocol::ContentType::kMsgpack, back[0].body)["value"], 7);
  courier.stop();
}

TEST_F(CourierCallTest, ACallWithNoAnswerByItsDeadlineResumesTheCallerWithTimeout) {
  CallPeers peers(nats_, std::nullopt);  // no callee: no responders, again and again
  auto courier = make({});
  courier.start();
  courier.messages_committed({call(std::chrono::system_clock::now() + 300ms)});
  ASSERT_TRUE(steps_until(courier, [&] { return calls_left() == 0; }));
  auto back = peers.to_caller();
  ASSERT_EQ(back.size(), 1u);
  auto result = protocol::decode_body(protocol::ContentType::kMsgpack, back[0].body);
  EXPECT_EQ(result["ok"], false);
  EXPECT_EQ(result["error"]["code"], "timeout");
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.dead_messages"), 0);
  courier.stop();
}

}  // namespace
}  // namespace dobj
