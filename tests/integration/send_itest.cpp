// Durable one-way messages (ctx.send) end to end: stored in the sender's commit, delivered by
// the worker owning the sender's partition, applied once and in order by the target; refusals
// to dobj.dead_messages; a dead worker's messages delivered by the next owner.
#include <gtest/gtest.h>
#include <signal.h>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/testing/http_get.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class SendTest : public StackTest {
 protected:
  // What Scratch.<id> received through append, in arrival order, once there are `count` (a
  // call refused meanwhile, e.g. while a dead worker's partitions wait for their new owner,
  // just asks again).
  Value appended_when(const std::string& id, std::size_t count) {
    Value got;
    bool arrived = wait_until(
        [&] {
          try {
            got = call("Scratch", id, "appended");
          } catch (const Error&) {
            return false;
          }
          return got.size() >= count;
        },
        30s);
    EXPECT_TRUE(arrived) << id << " has " << got.size() << " of " << count << "\n"
                         << stack_.worker_logs();
    return got;
  }
  std::int64_t outbox_rows() { return scalar("SELECT count(*) FROM dobj.outbox"); }
};

TEST_F(SendTest, ATransferCreditsTheOtherAccountOnce) {
  stack_.start_worker();
  EXPECT_EQ(call("Account", "alice", "deposit", {{"amount", 100}}), Value({{"balance", 100}}));
  EXPECT_EQ(call("Account", "alice", "transfer", {{"to", "bob"}, {"amount", 30}}),
            Value({{"ok", true}, {"balance", 70}}));
  EXPECT_EQ(call("Account", "alice", "transfer", {{"to", "bob"}, {"amount", 71}}),
            Value({{"ok", false}, {"balance", 70}}));
  ASSERT_TRUE(wait_until([&] { return call("Account", "bob", "balance") == 30; }, 20s))
      << stack_.worker_logs();
  ASSERT_TRUE(wait_until([&] { return outbox_rows() == 0; }, 10s));
  // Applied under its idempotency key, so a second delivery would have changed nothing.
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.idempotency WHERE class = 'Account' AND id = 'bob' "
                   "AND key LIKE 'send:%:1'"),
            1);
  EXPECT_EQ(call("Account", "alice", "balance"), 70);
  EXPECT_EQ(scalar("SELECT seq FROM dobj.outbox_seq WHERE class = 'Account' AND id = 'alice'"), 1);
}

TEST_F(SendTest, AThousandSendsBetweenOnePairArriveOnceAndInOrder) {
  stack_.start_worker();
  constexpr int kTurns = 4;
  constexpr int kPerTurn = 250;
  for (int t = 1; t <= kTurns; ++t) {
    call("Scratch", "sender", "send", {{"id", "receiver"}, {"count", kPerTurn}, {"argument", t}});
  }
  auto got = appended_when("receiver", kTurns * kPerTurn);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kTurns * kPerTurn));
  for (int n = 0; n < kTurns * kPerTurn; ++n) {
    ASSERT_EQ(got[n], Value({{"i", n % kPerTurn + 1}, {"argument", n / kPerTurn + 1}})) << n;
  }
  ASSERT_TRUE(wait_until([&] { return outbox_rows() == 0; }, 10s));
}

TEST_F(SendTest, AFailedTurnSendsNothingAndTooManySendsAreRefused) {
  stack_.start_worker();
  EXPECT_EQ(call_error("Scratch", "s", "send", {{"id", "r"}, {"count", 3}, {"then_throw", true}}),
            ErrorCode::kHandlerError);
  EXPECT_EQ(call_error("Scratch", "s", "send", {{"id", "r"}, {"count", 1001}}),
            ErrorCode::kBadRequest);
  EXPECT_EQ(call_error("Scratch", "s", "send", {{"id", "not valid"}}), ErrorCode::kBadRequest);
  EXPECT_EQ(call_error("Scratch", "s", "send", {{"id", "r"}, {"method", "$alarm"}}),
            ErrorCode::kBadRequest);
  call("Scratch", "s", "send", {{"id", "r"}, {"argument", "after"}});
  // Messages of one sender arrive in order: one of the failed turns would have come first.
  auto got = appended_when("r", 1);
  EXPECT_EQ(got, Value::array({{{"i", 1}, {"argument", "after"}}}));
  EXPECT_EQ(scalar("SELECT seq FROM dobj.outbox_seq WHERE id = 's'"), 1);
}

TEST_F(SendTest, MessagesRefusedForGoodGoToDeadMessagesAndDoNotHoldUpTheRest) {
  auto& worker = stack_.start_worker();
  call("Scratch", "s", "send", {{"id", "r"}, {"method", "nope"}});
  call("Scratch", "s", "send", {{"class", "Nope"}, {"id", "r"}});
  call("Scratch", "s", "send", {{"class", "Account"}, {"id", "r"}, {"method", "credit"}});
  call("Scratch", "s", "send", {{"id", "r"}, {"argument", "delivered"}});
  auto got = appended_when("r", 1);
  EXPECT_EQ(got, Value::array({{{"i", 1}, {"argument", "delivered"}}}));
  ASSERT_TRUE(wait_until([&] { return outbox_rows() == 0; }, 10s));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.dead_messages WHERE sender_id = 's'"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.dead_messages WHERE "
                   "(seq, error_code) IN ((1, 'no_such_method'), (2, 'no_such_class'), "
                   "(3, 'bad_request')) AND argument = '{\"i\": 1, \"argument\": null}'"),
            3);
  // Operators see the same in the worker's metrics.
  auto samples = metrics::parse_text(http_get(worker.metrics_port(), "/metrics").body);
  auto outcome = [&](const std::string& name) {
    for (const auto& m : samples) {
      if (m.name == "dobj_messages_total" && m.labels.at("outcome") == name) return m.value;
    }
    return -1.0;
  };
  EXPECT_EQ(outcome("delivered"), 1);
  EXPECT_EQ(outcome("dead"), 3);
}

TEST_F(SendTest, DurableEventsGoOutAfterTheCommitInOrderWithAStableMsgId) {
  stack_.start_worker();
  record_events();
  EXPECT_EQ(call_error("Scratch", "pe", "publish_durable",
                       {{"topic", "tick"}, {"count", 2}, {"then_throw", true}}),
            ErrorCode::kHandlerError);
  EXPECT_EQ(call_error("Scratch", "pe", "publish_durable", {{"topic", "not a topic"}}),
            ErrorCode::kBadRequest);
  call("Scratch", "pe", "publish_durable", {{"topic", "tick"}, {"count", 3}});
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.pe.tick") == 3; }, 20s))
      << stack_.worker_logs();
  EXPECT_EQ(bodies_on("evt.Scratch.pe.tick"),
            (std::vector<Value>{{{"i", 1}}, {{"i", 2}}, {{"i", 3}}}));
  std::vector<std::string> ids;
  for (const auto& e : events()) {
    if (e.subject == "evt.Scratch.pe.tick") ids.push_back(e.header("Nats-Msg-Id").value_or(""));
  }
  ASSERT_EQ(ids.size(), 3u);
  // The failed turn used no sequence numbers: these are 1, 2, 3.
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(ids[i].starts_with("send:")) << ids[i];
    EXPECT_TRUE(ids[i].ends_with(":" + std::to_string(i + 1))) << ids[i];
  }
  ASSERT_TRUE(wait_until([&] { return outbox_rows() == 0; }, 10s));
}

TEST_F(SendTest, TheSendersNextOwnerDeliversWhatADeadWorkerLeft) {
  auto& held = stack_.start_worker({"--hold-sends"});
  record_events();
  for (int t = 1; t <= 3; ++t) {
    call("Scratch", "orphan", "send", {{"id", "heir"}, {"count", 2}, {"argument", t}});
  }
  call("Scratch", "orphan", "publish_durable", {{"topic", "bye"}});
  // Committed, not delivered: an operator sees them, decoded, in the admin view.
  EXPECT_EQ(outbox_rows(), 7);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.outbox WHERE kind = 'event' AND method = 'bye' "
                   "AND seq = 7"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.outbox WHERE sender_id = 'orphan' AND "
                   "target_id = 'heir' AND method = 'append' AND attempts = 0 AND "
                   "argument = '{\"i\": 2, \"argument\": 3}' AND seq = 6"),
            1);
  // And `dobj inspect` shows them with the sender.
  std::string out;
  ASSERT_EQ(run_command({cli_binary(), "--db", stack_.database_url(), "inspect", "Scratch",
                         "orphan", "--json"},
                        &out),
            0)
      << out;
  auto inspected = Value::parse(out);
  EXPECT_EQ(inspected["outbox_pending"], 7);
  ASSERT_EQ(inspected["outbox"].size(), 7u);
  EXPECT_EQ(inspected["outbox"][0]["to"], "Scratch.heir.append");
  EXPECT_EQ(inspected["outbox"][0]["argument"], Value({{"i", 1}, {"argument", 1}}));
  ASSERT_EQ(
      run_command({cli_binary(), "--db", stack_.database_url(), "inspect", "Scratch", "orphan"},
                  &out),
      0);
  EXPECT_NE(out.find("outbox     7 messages not delivered yet"), std::string::npos) << out;
  EXPECT_NE(out.find("#1 → Scratch.heir.append"), std::string::npos) << out;
  held.process().signal(SIGKILL);
  held.process().wait(10s);
  stack_.start_worker();
  auto got = appended_when("heir", 6);
  ASSERT_EQ(got.size(), 6u);
  for (int n = 0; n < 6; ++n) {
    EXPECT_EQ(got[n], Value({{"i", n % 2 + 1}, {"argument", n / 2 + 1}})) << n;
  }
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.orphan.bye") == 1; }, 20s));
  ASSERT_TRUE(wait_until([&] { return outbox_rows() == 0; }, 10s));
}

}  // namespace
}  // namespace dobj::testing
