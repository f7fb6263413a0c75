// tests/clients: Node.js with the npm `nats` package and no dobj code calls the examples, and
// the ChatRoom page of examples/web runs in headless Chromium.
#include <gtest/gtest.h>

#include <filesystem>

#include "dobj/testing/http_get.hpp"
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

// examples/web served by its own serve.mjs, against a NATS server's websocket listener: two
// tabs, history on load, hostile text, refused input (tests/clients/web_chat.test.mjs). The
// screenshot lands in artifacts/web-chat.png beside the test binary's working directory.
TEST(WebClient, TwoTabsChatInRealTimeAndSeeHistoryOnLoad) {
  auto web = source_dir() + "/examples/web";
  auto clients = source_dir() + "/tests/clients";
  ASSERT_TRUE(std::filesystem::exists(web + "/node_modules/nats.ws"))
      << "run `npm ci` in examples/web first (.ci/run does)";
  ASSERT_TRUE(std::filesystem::exists(clients + "/node_modules/puppeteer-core"))
      << "run `npm ci` in tests/clients first (.ci/run does)";
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "install Debian's chromium (deploy/install-deps --tests does)";
  TestStack stack;
  stack.start_worker();
  auto artifacts = std::filesystem::current_path() / "artifacts";
  std::filesystem::create_directories(artifacts);
  std::filesystem::remove(artifacts / "web-chat.png");
  int port = free_port();
  auto log = (artifacts / "web-serve.log").string();
  Process server({"/usr/bin/node", web + "/serve.mjs", "--port", std::to_string(port), "--nats-ws",
                  stack.nats().websocket_url()},
                 {}, log);
  ASSERT_TRUE(
      wait_until([&] { return http_get(port, "/").status == 200; }, std::chrono::seconds(10)))
      << read_file(log);
  std::string output;
  // A test that hangs fails by itself (--test-timeout), and the browser is closed on the way out.
  int code = run_command({"/usr/bin/env", "NATS_URL=" + stack.nats().client_url(),
                          "WEB_URL=http://127.0.0.1:" + std::to_string(port) + "/",
                          "ARTIFACTS_DIR=" + artifacts.string(), "/usr/bin/node", "--test",
                          "--test-timeout=60000", clients + "/web_chat.test.mjs"},
                         &output);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("# pass 3\n"), std::string::npos) << output;
  EXPECT_NE(output.find("# fail 0\n"), std::string::npos) << output;
  // A PNG, and not an empty one.
  auto png = read_file((artifacts / "web-chat.png").string());
  EXPECT_GT(png.size(), 4096u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

}  // namespace
}  // namespace dobj::testing
