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
  int ephemeral_low = 0, ephemeral_high = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low >> ephemeral_high;
  // Room for a thousand ports below the range (Debian's default starts at 32768), or the kernel
  // picks and only "never twice" holds.
  const bool below_range = ephemeral_low - 20000 >= 1000;
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    int port = free_port();
    if (below_range) {
      EXPECT_GE(port, 20000);
      EXPECT_LT(port, ephemeral_low);
    }
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
    EXPECT_EQ(connect_loopback(port), -1) << "something listens on " << port;
  }
}

}  // namespace
}  // namespace dobj::testing
