// The test support's own promises, where a broken one shows up only as a rare flake elsewhere.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

// A port handed out stays reserved for other test processes while its process lives: a test that
// kills a server and starts it again on the same ports must find them free.
TEST(TestSupport, APortHandedOutIsNotHandedToAnotherProcessWhileItsOwnerLives) {
  constexpr int kChildPorts = 200;
  constexpr int kParentPorts = 2000;  // at random, about 30 of the child's would come up again
  int ports_pipe[2], hold_pipe[2];
  ASSERT_EQ(pipe(ports_pipe), 0);
  ASSERT_EQ(pipe(hold_pipe), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ports_pipe[0]);
    close(hold_pipe[1]);
    for (int i = 0; i < kChildPorts; ++i) {
      int port = free_port();
      if (write(ports_pipe[1], &port, sizeof port) != sizeof port) _exit(1);
    }
    close(ports_pipe[1]);
    char c;
    (void)read(hold_pipe[0], &c, 1);  // alive until the parent is done
    _exit(0);
  }
  close(ports_pipe[1]);
  close(hold_pipe[0]);
  std::set<int> child_ports;
  int port = 0;
  while (read(ports_pipe[0], &port, sizeof port) == sizeof port) child_ports.insert(port);
  close(ports_pipe[0]);
  ASSERT_EQ(child_ports.size(), static_cast<std::size_t>(kChildPorts));
  int reused = 0;
  for (int i = 0; i < kParentPorts; ++i) reused += child_ports.count(free_port()) ? 1 : 0;
  close(hold_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(reused, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace dobj::testing
