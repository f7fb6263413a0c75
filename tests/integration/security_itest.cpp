// Hostile clients with the shipped NATS configuration (issue "Wave 2 · 2/8"): what a client may
// make a worker do with its service rights.
#include <gtest/gtest.h>

#include <atomic>

#include "dobj/client/client.hpp"
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class SecurityTest : public ::testing::Test {
 protected:
  NatsConnection::Options client_options() {
    return {stack_.nats().client_url(), "hostile-client", true};
  }
  TestStack stack_;
};

// A request naming an event subject, an object subject or an internal subject as its reply would
// make the worker publish there with its own rights (a spoofed event, a forged call). It is
// refused unrun; only client inboxes get replies.
TEST_F(SecurityTest, AReplySubjectOutsideTheClientInboxesIsRefusedUnrun) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  std::atomic<int> events{0};
  auto watch = nats.subscribe("evt.>", [&](natsMsg* m) {
    ++events;
    natsMsg_Destroy(m);
  });
  nats.flush(5s);
  for (const char* reply : {"evt.ChatRoom.spoofed.message", "obj.Counter.victim.inc",
                            "dobj.in.7.Counter.victim.$alarm", "_INBOX"}) {
    nats.publish("obj.Counter.target.inc", R"({"by": 1})", {}, reply);
  }
  // Messages of one connection reach the worker's shard for one object in order: when this
  // request is answered, the four above have been dispatched (and refused, or run before it).
  auto reply = raw_call(nats, "obj.Counter.target.inc", R"({"by": 1})");
  EXPECT_EQ(error_code(reply), "");
  EXPECT_EQ(reply.body, 1) << "a request with a forbidden reply subject ran";
  // A spoofed event would have been published before that reply, on the worker's one connection.
  nats.flush(5s);
  EXPECT_EQ(events.load(), 0);
  EXPECT_EQ(raw_call(nats, "obj.Counter.victim.get", "").body, 0);
  // Fire-and-forget (no reply subject) still runs.
  nats.publish("obj.Counter.target.inc", R"({"by": 1})");
  EXPECT_EQ(raw_call(nats, "obj.Counter.target.get", "").body, 2);
}

}  // namespace
}  // namespace dobj::testing
