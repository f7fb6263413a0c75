// W3C trace context end to end: a request's traceparent goes on in its reply, its events and
// the log lines of its turn; a request without one (or with a malformed one) gets a new trace.
#include <gtest/gtest.h>

#include <sstream>

#include "dobj/client/nats_connection.hpp"
#include "dobj/protocol/trace_context.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;
using protocol::TraceContext;

constexpr const char* kGiven = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class TraceTest : public StackTest {
 protected:
  NatsMessage request(const std::string& subject, const std::string& body,
                      const std::map<std::string, std::string>& headers) {
    NatsConnection nats(client_options());
    return NatsMessage(nats.request(subject, body, headers, 10s));
  }
  static TraceContext trace_of(const NatsMessage& m) {
    auto header = m.header("traceparent");
    EXPECT_TRUE(header) << "no traceparent on " << m.subject;
    auto parsed = TraceContext::parse(header.value_or(""));
    EXPECT_TRUE(parsed) << *header;
    return parsed.value_or(TraceContext{});
  }
};

TEST_F(TraceTest, TheRequestsTraceGoesOnInTheReplyAndTheEvents) {
  stack_.start_worker();
  record_events();
  auto reply = request("obj.ChatRoom.traced.post", R"({"user":"ada","text":"hi"})",
                       {{"traceparent", kGiven}});
  ASSERT_EQ(reply.header("Dobj-Status"), "ok") << reply.body;
  auto given = *TraceContext::parse(kGiven);
  auto turn = trace_of(reply);
  EXPECT_EQ(turn.trace_id, given.trace_id);
  EXPECT_NE(turn.parent_id, given.parent_id);  // the turn is a span of its own
  EXPECT_EQ(turn.flags, "01");
  ASSERT_TRUE(wait_until([&] { return events_on("evt.ChatRoom.traced.message") == 1; }, 10s));
  auto event = trace_of(events()[0]);
  EXPECT_EQ(event.header(), turn.header());
}

TEST_F(TraceTest, WithoutOrWithAMalformedTraceparentARequestGetsANewTrace) {
  stack_.start_worker();
  auto plain = trace_of(request("obj.Counter.t.inc", "", {}));
  auto again = trace_of(request("obj.Counter.t.inc", "", {}));
  EXPECT_NE(plain.trace_id, again.trace_id);
  auto malformed = request("obj.Counter.t.inc", "", {{"traceparent", "00-nonsense"}});
  EXPECT_EQ(malformed.header("Dobj-Status"), "ok");  // tracing never fails a request
  EXPECT_NE(trace_of(malformed).trace_id, "nonsense");
  // A refusal before any turn carries one too.
  auto refused = request("obj.Nope.t.inc", "", {{"traceparent", kGiven}});
  EXPECT_EQ(refused.header("Dobj-Status"), "error");
  EXPECT_EQ(trace_of(refused).trace_id, TraceContext::parse(kGiven)->trace_id);
}

// An alarm keeps the traceparent of the turn that set it (dobj.alarms.traceparent); the timer
// sends it with the alarm, so the alarm's turn is a span of the same trace.
TEST_F(TraceTest, AnAlarmsTurnContinuesTheTraceOfTheTurnThatSetIt) {
  stack_.start_worker();
  stack_.start_timer({"--scan-ms", "200"});
  record_events();
  auto given = *TraceContext::parse(kGiven);
  auto far =
      request("obj.Scratch.far.set_alarm", R"({"in_ms":3600000})", {{"traceparent", kGiven}});
  ASSERT_EQ(far.header("Dobj-Status"), "ok") << far.body;
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.alarms WHERE id = 'far' AND traceparent = '" +
                   trace_of(far).header() + "'"),
            1);

  auto near = request("obj.Scratch.near.set_alarm", R"({"in_ms":100})", {{"traceparent", kGiven}});
  ASSERT_EQ(near.header("Dobj-Status"), "ok") << near.body;
  ASSERT_TRUE(wait_until([&] { return events_on("evt.Scratch.near.alarm") == 1; }, 20s));
  for (const auto& event : events()) {
    if (event.subject != "evt.Scratch.near.alarm") continue;
    auto fired = trace_of(event);
    EXPECT_EQ(fired.trace_id, given.trace_id);
    EXPECT_NE(fired.parent_id, trace_of(near).parent_id);  // the alarm's turn: a span of its own
  }
  // A later set without a traceparent replaces the trace with the new request's own.
  auto plain = request("obj.Scratch.far.set_alarm", R"({"in_ms":3600000})", {});
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.alarms WHERE id = 'far' AND traceparent = '" +
                   trace_of(plain).header() + "'"),
            1);
}

// --log-format json: one object per line; the lines of a turn name its trace id.
TEST_F(TraceTest, JsonLogLinesOfATurnCarryItsTraceId) {
  auto& worker = stack_.start_worker({"--log-format", "json", "--log-level", "debug"});
  auto reply =
      request("obj.Counter.logged.inc", R"({"by":"not a number"})", {{"traceparent", kGiven}});
  EXPECT_EQ(reply.header("Dobj-Status"), "error");
  std::string trace_id = TraceContext::parse(kGiven)->trace_id;
  ASSERT_TRUE(wait_until(
      [&] { return worker.log().find("\"trace_id\":\"" + trace_id) != std::string::npos; }, 10s))
      << worker.log();
  std::istringstream lines(worker.log());
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto object = Value::parse(line);  // every line is JSON
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("message"))
        << line;
    if (object.value("trace_id", "") == trace_id) {
      EXPECT_NE(object["message"].get<std::string>().find("bad_request"), std::string::npos);
    }
    ++parsed;
  }
  EXPECT_GT(parsed, 3);
}

}  // namespace
}  // namespace dobj::testing
