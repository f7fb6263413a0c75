#include "dobj/protocol/subject.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"

namespace dobj::protocol {
namespace {

TEST(InboundSubject, ParsesAllTokens) {
  auto s = parse_inbound_subject("dobj.in.17.Counter.c-1.inc");
  EXPECT_EQ(s.partition, 17);
  EXPECT_EQ(s.class_name, "Counter");
  EXPECT_EQ(s.object_id, "c-1");
  EXPECT_EQ(s.method, "inc");
}

TEST(InboundSubject, AcceptsSystemMethods) {
  EXPECT_EQ(parse_inbound_subject("dobj.in.0.Lock.l.$alarm").method, "$alarm");
}

class BadSubject : public ::testing::TestWithParam<const char*> {};

TEST_P(BadSubject, IsBadRequest) {
  try {
    parse_inbound_subject(GetParam());
    FAIL() << "accepted " << GetParam();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Subjects, BadSubject,
                         ::testing::Values("obj.Counter.c.inc", "dobj.in.1.Counter.c",
                                           "dobj.in.1.Counter.c.inc.x", "dobj.in.x.Counter.c.inc",
                                           "dobj.in.-1.Counter.c.inc", "dobj.in.1.1Counter.c.inc",
                                           "dobj.in.1.Counter.bad!id.inc",
                                           "dobj.in.1.Counter.c.9inc", "dobj.in.1.Counter.c.$",
                                           "dobj.in.1..c.inc", "dobj.in.1.Counter..inc"));

TEST(Subjects, Builders) {
  EXPECT_EQ(client_subject("Counter", "c1", "inc"), "obj.Counter.c1.inc");
  EXPECT_EQ(inbound_subject(3, "Counter", "c1", "inc"), "dobj.in.3.Counter.c1.inc");
  EXPECT_EQ(partition_subscription(3), "dobj.in.3.>");
  EXPECT_EQ(event_subject("ChatRoom", "g", "message"), "evt.ChatRoom.g.message");
}

}  // namespace
}  // namespace dobj::protocol
