// Hostile clients with the shipped NATS configuration (issue "Wave 2 · 2/8"): what a client may
// make a worker do with its service rights.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

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
                            "dobj.in.7.Counter.victim.$alarm", "_DOBJ_TIMER.1.5", "_INBOX"}) {
    nats.publish("obj.Counter.target.inc", R"({"by": 1})", {}, reply);
  }
  // Messages of one connection reach the worker's shard for one object in order: when this
  // request is answered, the five above have been dispatched (and refused, or run before it).
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

// Text that PostgreSQL cannot store (a NUL, invalid UTF-8) is the offending request's own
// bad_request, decided before anything runs; its neighbours in the same commit batch all succeed.
// Before, the batch's commit failed and every neighbour got storage_error.
TEST_F(SecurityTest, BadTextHurtsOnlyItsOwnRequest) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  constexpr int kNeighbours = 100;
  std::mutex mutex;
  std::map<std::string, std::string> codes;  // reply subject → error code ("" for ok)
  auto inbox = nats.subscribe("_INBOX.bad-text.>", [&](natsMsg* m) {
    auto msg = NatsMessage::from(m);
    natsMsg_Destroy(m);
    auto status = msg.header(protocol::kStatusHeader).value_or("");
    std::string code;
    if (status == protocol::kStatusError) {
      auto body = protocol::decode_body(
          protocol::content_type_from_header(msg.header(protocol::kContentTypeHeader)), msg.body);
      code = body["error"].value("code", "?");
    }
    std::lock_guard lock(mutex);
    codes[msg.subject] = code;
  });
  nats.flush(5s);
  const std::string msgpack_bad_utf8("\x81\xa4user\xa2\xc3\x28", 8);  // {"user": "\xc3\x28"}
  nats.publish("obj.ChatRoom.room-nul.join", R"({"user": "a\u0000b"})", {}, "_INBOX.bad-text.nul");
  nats.publish("obj.ChatRoom.room-utf8.join", msgpack_bad_utf8,
               {{protocol::kContentTypeHeader, protocol::kMsgpackContentType}},
               "_INBOX.bad-text.utf8");
  nats.publish("obj.Counter.idem.inc", "", {{protocol::kIdempotencyKeyHeader, "k\xff"}},
               "_INBOX.bad-text.key");
  for (int i = 0; i < kNeighbours; ++i) {
    nats.publish("obj.Counter.neighbour" + std::to_string(i) + ".inc", "", {},
                 "_INBOX.bad-text.n" + std::to_string(i));
  }
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return codes.size() == kNeighbours + 3;
      },
      30s));
  std::lock_guard lock(mutex);
  EXPECT_EQ(codes["_INBOX.bad-text.nul"], "bad_request");
  EXPECT_EQ(codes["_INBOX.bad-text.utf8"], "bad_request");
  EXPECT_EQ(codes["_INBOX.bad-text.key"], "bad_request");
  int ok = 0;
  for (int i = 0; i < kNeighbours; ++i) ok += codes["_INBOX.bad-text.n" + std::to_string(i)] == "";
  EXPECT_EQ(ok, kNeighbours);
}

// Scanning random ids with reads leaves the database as it was once the objects are evicted.
TEST_F(SecurityTest, AScanOfRandomIdsLeavesNoRows) {
  stack_.start_worker({"--idle-timeout-ms", "200"});
  NatsConnection nats(client_options());
  constexpr int kIds = 2000;
  std::atomic<int> answered{0};
  auto inbox = nats.subscribe("_INBOX.scan.>", [&](natsMsg* m) {
    ++answered;
    natsMsg_Destroy(m);
  });
  nats.flush(5s);
  for (int i = 0; i < kIds; ++i) {
    nats.publish("obj.Counter.scan" + std::to_string(i) + ".get", "", {}, "_INBOX.scan.r");
  }
  ASSERT_TRUE(wait_until([&] { return answered == kIds; }, 60s)) << answered << " answered";
  EXPECT_TRUE(
      wait_until([&] { return stack_.query_int("SELECT count(*) FROM dobj.objects") == 0; }, 30s))
      << stack_.query_int("SELECT count(*) FROM dobj.objects") << " rows left";
}

}  // namespace
}  // namespace dobj::testing
