// The test support's own promises, where a broken one shows up only as a rare flake elsewhere.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "dobj/testing/process.hpp"

namespace dobj::testing {
namespace {

// Ports for test servers come from below the kernel's ephemeral range (outgoing connections of
// tests running beside this one never take them before the server binds), never twice.
TEST(TestSupport, FreePortsAreBelowTheEphemeralRangeAndNeverRepeat) {
  // Debian's default ephemeral range starts at 32768: room below it.
  auto range = test_port_range();
  ASSERT_TRUE(range.has_value());
  int ephemeral_low = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  EXPECT_LT(range->second, ephemeral_low);
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    int port = free_port();
    EXPECT_GE(port, range->first);
    EXPECT_LE(port, range->second);
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
    EXPECT_EQ(connect_loopback(port), -1) << "something listens on " << port;
  }
}

}  // namespace
}  // namespace dobj::testing
