// dobj on a 3-node NATS cluster (deploy/nats/cluster, production/cluster.conf): every node maps
// and permits alike, and workers, timers and clients with the list of nodes survive the loss of
// any one of them with nothing acknowledged lost.
#include <gtest/gtest.h>
#include <signal.h>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/testing/cluster.hpp"
#include "dobj/testing/counter_load.hpp"
#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kNodes = 3;
// A refused publish only times out; the server's -ERR says why within milliseconds.
constexpr auto kRefusalWait = 500ms;

std::string one_node(const std::string& url, int node) {
  return NatsServerList::parse(url).urls.at(static_cast<std::size_t>(node));
}

// A client that may connect to one node only: its call is served by a worker on another node,
// through the routes, after the same mapping; and the same permissions refuse it everywhere.
void expect_served_and_guarded_at(const std::string& url, const std::string& id) {
  NatsConnection nats({url, "node-client"});
  Client client(nats);
  CallOptions options;
  options.idempotency_key = "at-" + id;  // interest may still be on its way to this node
  EXPECT_EQ(client.call("Counter", id, "inc", Value({{"by", 2}}), options), Value(2)) << url;
  EXPECT_THROW(nats.request("obj.Counter." + id + ".$alarm", "", {}, kRefusalWait),
               NotPermittedError)
      << url;
}

TEST(NatsCluster, EveryNodeMapsAndPermitsAlike) {
  TestStack stack(NatsServer::Profile::kLocal, kNodes);
  ASSERT_TRUE(stack.nats().wait_routes(20s));
  // The worker on the last node only: every other node reaches it through a route.
  stack.start_worker_at(one_node(stack.nats().service_url(), kNodes - 1),
                        stack.service_database_url());
  for (int node = 0; node < kNodes; ++node) {
    expect_served_and_guarded_at(one_node(stack.nats().client_url(), node),
                                 "n" + std::to_string(node));
  }
  // Its one node gone, the worker reconnects to a node the cluster announced, with the
  // credentials of the URL it was given, and serves again.
  stack.nats().stop_node(kNodes - 1, SIGKILL);
  expect_served_and_guarded_at(one_node(stack.nats().client_url(), 0), "after");
}

TEST(NatsCluster, TheProductionProfileClustersWithRouteCredentials) {
  TestStack stack(NatsServer::Profile::kProduction, kNodes);
  ASSERT_TRUE(stack.nats().wait_routes(20s)) << "production/cluster.conf's routes did not form";
  stack.start_worker_at(one_node(stack.nats().service_url(), 0), stack.service_database_url());
  // chat-app may call ChatRoom only, from any node, with its own inbox namespace.
  for (int node = 0; node < kNodes; ++node) {
    NatsConnection::Options options{
        one_node(stack.nats().user_url("chat-app", "chat-app-dev"), node), "chat-app"};
    options.inbox_prefix = "_INBOX.chat-app";
    NatsConnection nats(options);
    Client client(nats);
    CallOptions call;
    call.idempotency_key = "post-" + std::to_string(node);
    EXPECT_NO_THROW(client.call("ChatRoom", "lobby", "post",
                                Value({{"user", "ada"}, {"text", "from " + std::to_string(node)}}),
                                call));
    CallOptions refused;
    refused.timeout = kRefusalWait;
    EXPECT_THROW(client.call("Counter", "c", "inc", nullptr, refused), NotPermittedError);
  }
}

// Workers (through proxies to every node), a timer and clients, all with the node list. Each node
// in turn is SIGKILLed for a few seconds under load: requests keep being acknowledged while it is
// down, locks still expire through their alarms, and every counter ends within
// [acknowledged, acknowledged + unknown].
TEST(NatsCluster, WorkersTimersAndClientsSurviveTheLossOfAnyNode) {
  Cluster::Options options;
  options.workers = 2;
  options.timers = 1;
  options.nats_nodes = kNodes;
  Cluster cluster(options);
  ASSERT_TRUE(cluster.stack().nats().wait_routes(20s));
  ASSERT_TRUE(cluster.wait_balanced(30s));
  CounterLoad load({cluster.stack().nats().client_url(), 3, 300, "nodeloss", 2000ms, 2ms});
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= 100; }, 30s));

  NatsConnection nats({cluster.stack().nats().client_url(), "lock-client"});
  Client client(nats);
  CallOptions retrying;
  retrying.total_timeout = 20s;
  for (int node = 0; node < kNodes; ++node) {
    // Locks whose alarms fall due while the node is down.
    auto lock_id = "lock-" + std::to_string(node);
    retrying.idempotency_key = lock_id;
    ASSERT_EQ(client.call("Lock", lock_id, "acquire", Value({{"holder", "ada"}, {"ttl_ms", 1000}}),
                          retrying)["acquired"],
              true);
    auto alarm_fired = [&] {
      return cluster.stack().query_int("SELECT count(*) FROM dobj_admin.objects WHERE id = '" +
                                       lock_id + "' AND alarm_at IS NOT NULL") == 0;
    };
    cluster.stack().nats().stop_node(node, SIGKILL);
    auto before = load.acked();
    auto progressed = wait_until([&] { return load.acked() >= before + 100; }, 30s);
    auto fired = wait_until(alarm_fired, 30s);
    cluster.stack().nats().start_node(node);
    EXPECT_TRUE(progressed) << "node " << node << " down: " << load.acked() - before
                            << " acknowledged since";
    EXPECT_TRUE(fired) << lock_id << "'s alarm did not fire while node " << node << " was down";
    ASSERT_TRUE(cluster.stack().nats().wait_routes(20s));
    retrying.idempotency_key.reset();
    EXPECT_EQ(client.call("Lock", lock_id, "holder", nullptr, retrying),
              Value({{"holder", nullptr}}));
  }
  auto before = load.acked();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= before + 100; }, 30s));
  load.stop();
  auto violations = load.violations_in(cluster.stack().database_url());
  EXPECT_TRUE(violations.empty()) << violations.size() << " objects, e.g. " << violations.front();
  EXPECT_TRUE(load.results().errors.empty()) << load.results().errors.front();
  EXPECT_GT(load.acked(), 400);
}

}  // namespace
}  // namespace dobj::testing
