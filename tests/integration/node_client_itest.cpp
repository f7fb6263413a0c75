// tests/clients: Node.js with the npm `nats` package and no dobj code calls the examples.
#include <gtest/gtest.h>

#include <filesystem>

#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {
namespace {

TEST(NodeClient, CallsCounterAndChatRoomInJsonAndMsgpackAndReceivesEvents) {
  auto dir = source_dir() + "/tests/clients";
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/nats"))
      << "run `npm ci` in tests/clients first (.ci/run does)";
  TestStack stack;
  stack.start_worker();
  std::string output;
  int code = run_command({"/usr/bin/env", "NATS_URL=" + stack.nats().client_url(), "/usr/bin/node",
                          "--test", dir + "/node_client.test.mjs"},
                         &output);
  EXPECT_EQ(code, 0) << output;
  // Every test of the file ran and passed (node exits 0 with no tests too).
  EXPECT_NE(output.find("# pass 5\n"), std::string::npos) << output;
  EXPECT_NE(output.find("# fail 0\n"), std::string::npos) << output;
}

// nats.js against the production profile: its own inbox prefix works, the default one is refused.
TEST(NodeClient, AnApplicationUsesItsInboxPrefixInTheProductionProfile) {
  auto dir = source_dir() + "/tests/clients";
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/nats"))
      << "run `npm ci` in tests/clients first (.ci/run does)";
  TestStack stack(NatsServer::Profile::kProduction);
  stack.start_worker();
  std::string output;
  int code = run_command(
      {"/usr/bin/env", "NATS_HOST_PORT=127.0.0.1:" + std::to_string(stack.nats().port()),
       "/usr/bin/node", "--test", dir + "/production_profile.test.mjs"},
      &output);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("# pass 3\n"), std::string::npos) << output;
  EXPECT_NE(output.find("# fail 0\n"), std::string::npos) << output;
}

}  // namespace
}  // namespace dobj::testing
