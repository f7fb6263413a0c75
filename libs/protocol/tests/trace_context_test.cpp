#include "dobj/protocol/trace_context.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace dobj::protocol {
namespace {

TEST(TraceContext, ParsesAWellFormedHeaderAndRefusesTheRest) {
  auto t = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->flags, "01");
  for (const char* bad :
       {"", "garbage", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",                 // upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",                 // zero trace
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",                 // zero parent
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"}) {
    EXPECT_FALSE(TraceContext::parse(bad)) << bad;
  }
}

TEST(TraceContext, AChildKeepsTheTraceAndGetsItsOwnSpan) {
  auto root = TraceContext::generate();
  ASSERT_TRUE(TraceContext::parse(root.header())) << root.header();
  auto child = root.child();
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_EQ(child.flags, root.flags);
  EXPECT_NE(child.parent_id, root.parent_id);
  EXPECT_NE(TraceContext::generate().trace_id, root.trace_id);
}

TEST(TraceContext, GeneratedIdsUseEveryHexDigitInEveryPosition) {
  std::vector<std::set<char>> seen(32);
  for (int i = 0; i < 400; ++i) {
    auto id = TraceContext::generate().trace_id;
    ASSERT_EQ(id.size(), 32u);
    for (std::size_t d = 0; d < id.size(); ++d) seen[d].insert(id[d]);
  }
  for (std::size_t d = 0; d < seen.size(); ++d) EXPECT_EQ(seen[d].size(), 16u) << "digit " << d;
}

}  // namespace
}  // namespace dobj::protocol
