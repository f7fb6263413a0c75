// Awaited calls (ctx.call) end to end: the caller's writes commit before the call leaves, the
// caller serves other messages while it waits, the outcome (result, error or timeout) resumes it
// as a turn of its own whose answer is the reply, and a failover neither loses the call nor
// applies it twice.
#include <gtest/gtest.h>
#include <signal.h>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/runtime/host.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class CallTest : public StackTest {
 protected:
  std::int64_t calls_pending() {
    return scalar("SELECT count(*) FROM dobj.outbox WHERE kind = 'call'");
  }
  // Calls with an idempotency key, once, and says how it went.
  Value call_keyed(const std::string& class_name, const std::string& id, const std::string& method,
                   const Value& argument, const std::string& key, ErrorCode* error) {
    CallOptions o;
    o.idempotency_key = key;
    o.max_attempts = 1;
    o.timeout = 2s;
    try {
      return client().call(class_name, id, method, argument, o);
    } catch (const Error& e) {
      *error = e.code();
      return nullptr;
    }
  }
};

TEST_F(CallTest, AddFromAddsTheOtherCountersValueAndAnswersFromTheContinuation) {
  stack_.start_worker();
  call("Counter", "b", "inc", {{"by", 5}});
  call("Counter", "a", "inc", {{"by", 2}});
  EXPECT_EQ(call("Counter", "a", "add_from", {{"from", "b"}}), 7);
  EXPECT_EQ(call("Counter", "a", "get"), 7);
  EXPECT_EQ(call("Counter", "b", "get"), 5);
  // Calling itself works too: the object serves the get while its own call waits.
  EXPECT_EQ(call("Counter", "a", "add_from", {{"from", "a"}}), 14);
  EXPECT_EQ(call_error("Counter", "a", "add_from", {{"from", "not an id"}}),
            ErrorCode::kBadRequest);
  EXPECT_EQ(call_error("Counter", "a", "add_from", {}), ErrorCode::kBadRequest);
  ASSERT_TRUE(wait_until([&] { return calls_pending() == 0; }, 10s));
  // b applied the call under its key, and a took each outcome under its own.
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.idempotency WHERE class = 'Counter' AND id = 'b' "
                   "AND key LIKE 'call:%:1' AND NOT pending"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.idempotency WHERE class = 'Counter' AND id = 'a' "
                   "AND key LIKE 'result:%'"),
            2);
}

TEST_F(CallTest, ACycleFromAToBAndBackToADoesNotDeadlock) {
  stack_.start_worker();
  // A writes k, then calls B, which calls A back while A's own call waits for B.
  Value inner{{"id", "cycle-a"}, {"method", "get"}, {"argument", {{"key", "k"}}}};
  auto reply = call("Scratch", "cycle-a", "call",
                    {{"id", "cycle-b"},
                     {"method", "call"},
                     {"argument", inner},
                     {"put", {{"key", "k"}, {"value", 42}}},
                     {"carry", "a"}});
  EXPECT_EQ(reply, Value({{"ok", true},
                          {"carry", "a"},
                          {"value", {{"ok", true}, {"carry", nullptr}, {"value", 42}}}}));
  ASSERT_TRUE(wait_until([&] { return calls_pending() == 0; }, 10s));
}

TEST_F(CallTest, TheCalleesErrorOrRefusalResumesTheCaller) {
  stack_.start_worker();
  auto failed = call("Scratch", "caller", "call",
                     {{"id", "thrower"},
                      {"method", "put_then_throw"},
                      {"argument", {{"key", "x"}, {"value", 1}}}});
  EXPECT_EQ(failed["ok"], false);
  EXPECT_EQ(failed["error"], "handler_error");
  EXPECT_EQ(call("Scratch", "thrower", "get", {{"key", "x"}}), nullptr);
  EXPECT_EQ(call("Scratch", "caller", "call", {{"id", "r"}, {"method", "nope"}})["error"],
            "no_such_method");
  EXPECT_EQ(call("Scratch", "caller", "call", {{"class", "Nope"}, {"id", "r"}})["error"],
            "no_such_class");
  // What the turn wrote before its call committed before the call left (output gate); a
  // continuation that throws answers the client with its error and undoes only its own writes.
  EXPECT_EQ(
      call_error(
          "Scratch", "caller", "call",
          {{"id", "r"}, {"put", {{"key", "before"}, {"value", 1}}}, {"carry", {{"throw", true}}}}),
      ErrorCode::kHandlerError);
  EXPECT_EQ(call("Scratch", "caller", "get", {{"key", "before"}}), 1);
  ASSERT_TRUE(wait_until([&] { return calls_pending() == 0; }, 10s));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.dead_messages"), 0);
}

TEST_F(CallTest, ACallWithoutAnAnswerInTimeResumesWithTimeout) {
  stack_.start_worker();
  auto reply =
      call("Scratch", "impatient", "call",
           {{"id", "slow"}, {"method", "spin"}, {"argument", {{"ms", 1500}}}, {"timeout_ms", 200}});
  EXPECT_EQ(reply["ok"], false);
  EXPECT_EQ(reply["error"], "timeout");
  EXPECT_NE(reply["message"].get<std::string>().find("may or may not"), std::string::npos);
  EXPECT_EQ(call_error("Scratch", "impatient", "call", {{"id", "slow"}, {"timeout_ms", 0}}),
            ErrorCode::kBadRequest);
  EXPECT_EQ(call_error("Scratch", "impatient", "call", {{"id", "slow"}, {"timeout_ms", 120'001}}),
            ErrorCode::kBadRequest);
  ASSERT_TRUE(wait_until([&] { return calls_pending() == 0; }, 10s));
}

TEST_F(CallTest, ContinuationsChainAndAChainStopsAtTheDepthLimit) {
  stack_.start_worker();
  // A continuation that calls again: the client's reply is the last continuation's.
  auto chained =
      call("Scratch", "chainer", "call",
           {{"id", "first"},
            {"argument", 1},
            {"carry", {{"call", {{"id", "second"}, {"argument", 2}, {"carry", "end"}}}}}});
  EXPECT_EQ(chained, Value({{"ok", true}, {"carry", "end"}, {"value", 2}}));
  // Each object calls the next: the one that would make the chain longer than the limit is
  // refused, and every waiting object resumes with the outcome below it.
  Value argument{{"id", "depth-end"}};
  for (int d = protocol::kMaxCallDepth; d >= 1; --d) {
    argument =
        Value{{"id", "depth-" + std::to_string(d)}, {"method", "call"}, {"argument", argument}};
  }
  auto reply = call("Scratch", "depth-0", "call", argument);
  int waited = 0;
  const Value* level = &reply;
  while ((*level)["ok"] == true && level->contains("value") && (*level)["value"].is_object() &&
         (*level)["value"].contains("ok")) {
    ++waited;
    level = &(*level)["value"];
  }
  EXPECT_EQ((*level)["error"], "bad_request") << reply.dump();
  EXPECT_EQ(waited, protocol::kMaxCallDepth - 1) << reply.dump();
  ASSERT_TRUE(wait_until([&] { return calls_pending() == 0; }, 20s));
}

TEST_F(CallTest, TheCallerServesWhileWaitingAndAFailoverAppliesTheCallOnce) {
  // This worker commits calls but never sends them: the call waits as long as we like.
  auto& held = stack_.start_worker({"--hold-sends"});
  call("Counter", "giver", "inc", {{"by", 5}});
  ErrorCode error{};
  call_keyed("Counter", "taker", "add_from", {{"from", "giver"}}, "take-once", &error);
  EXPECT_EQ(error, ErrorCode::kTimeout) << "the call's turn answered before its continuation";
  // The call is stored with its route; the caller serves other messages meanwhile.
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.outbox WHERE kind = 'call' AND "
                   "sender_id = 'taker' AND target_id = 'giver' AND call->>'then' = 'added'"),
            1);
  std::string out;
  ASSERT_EQ(run_command({cli_binary(), "--db", stack_.database_url(), "inspect", "Counter", "taker",
                         "--json"},
                        &out),
            0)
      << out;
  auto inspected = Value::parse(out);
  ASSERT_EQ(inspected["outbox"].size(), 1u) << out;
  EXPECT_EQ(inspected["outbox"][0]["kind"], "call");
  EXPECT_EQ(inspected["outbox"][0]["then"], "added");
  EXPECT_EQ(inspected["outbox"][0]["to"], "Counter.giver.get");
  EXPECT_EQ(call("Counter", "taker", "get"), 0);
  EXPECT_EQ(call("Counter", "taker", "inc"), 1);
  // A retry of the waiting request runs nothing: its outcome is not known yet.
  error = {};
  call_keyed("Counter", "taker", "add_from", {{"from", "giver"}}, "take-once", &error);
  EXPECT_EQ(error, ErrorCode::kUnknownOutcome);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.idempotency_keys WHERE id = 'taker' AND "
                   "key = 'take-once' AND pending"),
            1);
  held.process().signal(SIGKILL);
  held.process().wait(10s);
  stack_.start_worker();
  // The next owner sends the call and resumes the caller; the retry then gets the answer.
  Value answer;
  ASSERT_TRUE(wait_until(
      [&] {
        error = {};
        answer =
            call_keyed("Counter", "taker", "add_from", {{"from", "giver"}}, "take-once", &error);
        return error == ErrorCode{} && !answer.is_null();
      },
      30s))
      << stack_.worker_logs();
  EXPECT_EQ(answer, 6);
  EXPECT_EQ(call("Counter", "taker", "get"), 6);
  EXPECT_EQ(call_keyed("Counter", "taker", "add_from", {{"from", "giver"}}, "take-once", &error),
            6);
  EXPECT_EQ(call("Counter", "taker", "get"), 6);
  ASSERT_TRUE(wait_until([&] { return calls_pending() == 0; }, 10s));
}

// A one-way message whose handler makes a call is answered at once: the sender's next message
// does not wait for that call's continuation.
TEST_F(CallTest, AOneWayMessageThatMakesACallDoesNotHoldUpItsSendersNextMessage) {
  stack_.start_worker();
  // The spin busies its shard: it must not be middle's (Host::dispatch's choice of shard).
  auto shard_of = [](const std::string& id) {
    return protocol::fnv1a32(id, protocol::fnv1a32("Scratch")) % HostConfig::kDefaultShards;
  };
  std::string spinner = "spinner";
  for (int n = 0; shard_of(spinner) == shard_of("middle"); ++n)
    spinner = "spinner" + std::to_string(n);
  // The first message makes middle call a slow spin; the second appends.
  Value spin{{"id", spinner}, {"method", "spin"}, {"argument", {{"ms", 4000}}}};
  call("Scratch", "one-way", "send",
       {{"id", "middle"}, {"method", "call"}, {"argument", spin}, {"raw", true}});
  call("Scratch", "one-way", "send", {{"id", "middle"}, {"argument", "next"}});
  // The second arrives while middle's call is still out (its row still in the outbox).
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          return call("Scratch", "middle", "appended").size() == 1;
        } catch (const Error&) {
          return false;
        }
      },
      20s));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.outbox WHERE kind = 'call' AND sender_id = 'middle'"),
            1);
  // The call still completes; its continuation answers no one.
  ASSERT_TRUE(wait_until([&] { return calls_pending() == 0; }, 20s)) << stack_.worker_logs();
  EXPECT_EQ(call("Scratch", "middle", "get", {{"key", "resumed"}}), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.outbox WHERE sender_id = 'one-way'"), 0);
}

TEST_F(CallTest, NoOneButTheCourierCanHandAnOutcomeIn) {
  stack_.start_worker();
  Value forged{{"ok", true},
               {"value", 1},
               {"route",
                {{"then", "resumed"},
                 {"carry", nullptr},
                 {"reply_to", "_INBOX.forged"},
                 {"reply_type", "application/json"},
                 {"reply_key", ""},
                 {"chain", ""},
                 {"deadline_us", 0}}}};
  auto body = forged.dump();
  // A client may not publish $result at all (deploy/nats/dobj-auth.conf).
  NatsConnection nats(client_options());
  auto watch = nats.subscribe("_INBOX.>", [](natsMsg* m) { natsMsg_Destroy(m); });
  for (const auto& subject :
       {std::string("obj.Scratch.victim.$result"),
        protocol::inbound_subject(
            protocol::partition_of("Scratch", "victim", protocol::kDefaultPartitions), "Scratch",
            "victim", "$result")}) {
    auto before = nats.permission_errors().first;
    nats.publish(subject, body, {}, "_INBOX.mine.1");
    EXPECT_TRUE(wait_until([&] { return nats.permission_errors().first > before; }, 5s)) << subject;
  }
  // Even a service connection gets no continuation run unless the answer goes to a courier.
  auto service = client_options();
  service.url = stack_.nats().service_url();
  service.inbox_prefix = "_DOBJ_SEND.test";  // where the service user may read replies
  NatsConnection worker_like(service);
  auto victim = [](const std::string& method) {
    return protocol::inbound_subject(
        protocol::partition_of("Scratch", "victim", protocol::kDefaultPartitions), "Scratch",
        "victim", method);
  };
  for (const char* reply : {"_INBOX.mine.2", ""}) {
    worker_like.publish(victim("$result"), body, {}, reply);
  }
  // One connection's messages to one object run in order: once this answers, those above were
  // refused or ran.
  auto after = raw_call(worker_like, victim("get"), R"({"key": "resumed"})");
  EXPECT_EQ(error_code(after), "");
  EXPECT_EQ(after.body, nullptr) << "a forged outcome ran a continuation";
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE id = 'victim' AND version > 0"), 0);
}

}  // namespace
}  // namespace dobj::testing
