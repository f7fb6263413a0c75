#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dobj/testing/process.hpp"

namespace dobj::testing {

// Throwaway NATS on random 127.0.0.1 ports, configured with one of the shipped profiles:
// deploy/nats/dobj.conf (partition mapping) and its users and permissions. One node, or a
// cluster of up to 3 nodes joined by routes (deploy/nats/cluster/, production/cluster.conf);
// every URL then lists all nodes, as a deployment's clients would.
class NatsServer {
 public:
  enum class Profile {
    kLocal,       // deploy/nats/dobj-auth.conf: one service user, anonymous clients
    kProduction,  // deploy/nats/production: a user per service and per application
    kOpen,        // the mapping without users: benchmarks whose baselines use their own subjects
  };
  static constexpr int kMaxNodes = 3;  // the shipped cluster files

  // advertise = false: nodes do not tell clients of each other (no_advertise), so that a client
  // reaching them through TCP proxies never bypasses its proxies.
  explicit NatsServer(Profile profile = Profile::kLocal, int nodes = 1, bool advertise = true);
  ~NatsServer();

  int nodes() const { return static_cast<int>(nodes_.size()); }
  // Node `node`'s client port.
  int port(int node = 0) const { return nodes_.at(node).port; }
  std::vector<int> ports() const;
  // As the worker's service user.
  std::string service_url() const;
  // As the timer's service user (the same user in the local profile).
  std::string timer_url() const;
  // As an anonymous client (local profile: mapped to the restricted client user).
  std::string client_url() const;
  // Node 0's websocket listener for browsers (nats.ws), anonymous like client_url(); not in
  // the production profile.
  std::string websocket_url() const;
  // As a named user of the profile (production: chat-app, ops, …), with its password.
  std::string user_url(const std::string& user, const std::string& password) const;
  // A URL of this server's with other client ports in place of the nodes' (TCP proxies).
  static std::string with_ports(const std::string& url, const std::vector<int>& ports);

  // Every node.
  void stop();
  void start();
  // One node: SIGTERM (or `signal`, e.g. SIGKILL) and reaped; started again with its config.
  void stop_node(int node, int signal);
  void start_node(int node);
  bool node_running(int node) const { return nodes_.at(node).process != nullptr; }
  // CPU time of every running node so far (benchmarks: NATS CPU per request).
  double cpu_seconds() const;
  // Waits until every running node has a route to every other running node.
  bool wait_routes(std::chrono::milliseconds deadline) const;

 private:
  struct Node {
    int port = 0;
    int http_port = 0;
    int ws_port = 0;
    int cluster_port = 0;
    std::string config;
    std::unique_ptr<Process> process;
  };
  void write_single_config(Node& node);
  void write_cluster_configs();
  std::string urls(const std::string& credentials) const;

  Profile profile_;
  bool advertise_;
  std::string dir_;
  std::vector<Node> nodes_;
};

}  // namespace dobj::testing
