// The Courier stepped by hand on a virtual clock, against a real nats-server and PostgreSQL with
// no worker serving the target: its backoff, and what becomes of a message too old to send.
#include "courier.hpp"

#include <gtest/gtest.h>

#include "dobj/core/clock.hpp"
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

}  // namespace
}  // namespace dobj
