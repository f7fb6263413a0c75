#include "dobj/testing/nats_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "dobj/client/nats_connection.hpp"
#include "dobj/testing/http_get.hpp"

namespace dobj::testing {
namespace {

bool accepts(int port) {
  int fd = connect_loopback(port);
  bool ok = fd >= 0;
  if (ok) close(fd);
  return ok;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string addr(int port) {
  return "127.0.0.1:" + std::to_string(port);
}

// The shipped local cluster's ports (deploy/nats/cluster/node-N.conf): base + N - 1.
constexpr int kShippedClientPort = 4222;
constexpr int kShippedHttpPort = 8222;
constexpr int kShippedWsPort = 9222;
constexpr int kShippedClusterPort = 6222;

}  // namespace

NatsServer::NatsServer(Profile profile, int nodes, bool advertise)
    : profile_(profile), advertise_(advertise) {
  if (nodes < 1 || nodes > kMaxNodes) {
    throw std::invalid_argument("NatsServer: 1 to " + std::to_string(kMaxNodes) + " nodes");
  }
  dir_ = make_temp_dir("dobj-nats");
  nodes_.resize(nodes);
  for (auto& n : nodes_) {
    n.port = free_port();
    n.http_port = free_port();
    n.ws_port = free_port();
    n.cluster_port = free_port();
  }
  // The shipped files as they are, beside top files with this server's ports (include paths
  // are relative to the including file).
  std::filesystem::copy(std::string(DOBJ_SOURCE_DIR) + "/deploy/nats", dir_ + "/nats",
                        std::filesystem::copy_options::recursive);
  if (nodes == 1) {
    write_single_config(nodes_[0]);
  } else {
    write_cluster_configs();
  }
  start();
}

void NatsServer::write_single_config(Node& node) {
  if (profile_ != Profile::kProduction) {
    node.config = dir_ + "/nats/test.conf";
    std::ofstream(node.config) << "listen: " << addr(node.port) << "\n"
                               << "websocket { listen: " << addr(node.ws_port)
                               << ", no_tls: true }\n"
                               << "include dobj.conf\n"
                               << (profile_ == Profile::kLocal ? "include dobj-auth.conf\n" : "");
  } else {
    node.config = dir_ + "/nats/production/test.conf";
    std::ofstream(node.config) << "listen: " << addr(node.port) << "\n"
                               << "include ../dobj.conf\ninclude authorization.conf\n";
  }
}

void NatsServer::write_cluster_configs() {
  // The shipped node files with their ports moved, as deploy/local/up moves them.
  const std::string cluster_dir = dir_ + "/nats/cluster/";
  const std::string production_dir = dir_ + "/nats/production/";
  std::string routes = "routes: [\n";
  for (auto& n : nodes_) routes += "  nats-route://" + addr(n.cluster_port) + "\n";
  if (!advertise_) routes += "]\nno_advertise: true\n";
  std::ofstream(cluster_dir + "routes.conf") << routes << (advertise_ ? "]\n" : "");
  const std::string production_cluster = read_file(production_dir + "cluster.conf");
  for (int i = 0; i < nodes(); ++i) {
    auto& n = nodes_[i];
    if (profile_ != Profile::kProduction) {
      auto text = read_file(cluster_dir + "node-" + std::to_string(i + 1) + ".conf");
      replace_all(text, addr(kShippedClientPort + i), addr(n.port));
      replace_all(text, addr(kShippedHttpPort + i), addr(n.http_port));
      replace_all(text, addr(kShippedWsPort + i), addr(n.ws_port));
      replace_all(text, addr(kShippedClusterPort + i), addr(n.cluster_port));
      if (profile_ == Profile::kOpen) replace_all(text, "include ../dobj-auth.conf", "");
      n.config = cluster_dir + "test-node-" + std::to_string(i + 1) + ".conf";
      std::ofstream(n.config) << text;
      continue;
    }
    // production/cluster.conf names its nodes nats-1…3 and listens on 0.0.0.0:6222.
    auto cluster = production_cluster;
    replace_all(cluster, "0.0.0.0:6222",
                addr(n.cluster_port) + (advertise_ ? "" : "\n  no_advertise: true"));
    for (int k = 0; k < nodes(); ++k) {
      replace_all(cluster, "@nats-" + std::to_string(k + 1) + ":6222",
                  "@" + addr(nodes_[k].cluster_port));
    }
    // A shipped route beyond this server's node count points nowhere: drop it.
    cluster = std::regex_replace(cluster, std::regex(".*@nats-[0-9]+:6222\n"), "");
    auto name = "test-node-" + std::to_string(i + 1);
    std::ofstream(production_dir + name + "-cluster.conf") << cluster;
    n.config = production_dir + name + ".conf";
    std::ofstream(n.config) << "server_name: dobj-test-" << i + 1 << "\n"
                            << "listen: " << addr(n.port) << "\n"
                            << "http: " << addr(n.http_port) << "\n"
                            << "include ../dobj.conf\ninclude authorization.conf\n"
                            << "include " << name << "-cluster.conf\n";
  }
}

NatsServer::~NatsServer() {
  stop();
  remove_tree(dir_);
}

void NatsServer::start() {
  for (int i = 0; i < nodes(); ++i) {
    if (!node_running(i)) start_node(i);
  }
}

void NatsServer::stop() {
  for (int i = 0; i < nodes(); ++i) stop_node(i, SIGTERM);
}

void NatsServer::start_node(int node) {
  auto& n = nodes_.at(node);
  const char* binary = std::getenv("DOBJ_NATS_SERVER");
  auto log = dir_ + "/server-" + std::to_string(node) + ".log";
  n.process = std::make_unique<Process>(
      std::vector<std::string>{binary && *binary ? binary : "/usr/sbin/nats-server", "-c",
                               n.config},
      std::map<std::string, std::string>{}, log);
  if (!wait_until([&] { return accepts(n.port); }, std::chrono::seconds(10))) {
    throw std::runtime_error("nats-server did not start:\n" + read_file(log));
  }
}

void NatsServer::stop_node(int node, int signal) {
  auto& n = nodes_.at(node);
  if (!n.process) return;
  n.process->signal(signal);
  n.process->wait(std::chrono::seconds(10));
  n.process.reset();
}

double NatsServer::cpu_seconds() const {
  double total = 0;
  for (const auto& n : nodes_) {
    if (n.process) total += testing::cpu_seconds(n.process->pid());
  }
  return total;
}

bool NatsServer::wait_routes(std::chrono::milliseconds deadline) const {
  return wait_until(
      [this] {
        int running = 0;
        for (int i = 0; i < nodes(); ++i) running += node_running(i);
        static const std::regex kRoutes("\"num_routes\": *([0-9]+)");
        for (int i = 0; i < nodes(); ++i) {
          if (!node_running(i)) continue;
          auto r = http_get(nodes_[i].http_port, "/routez");
          std::smatch m;
          if (r.status != 200 || !std::regex_search(r.body, m, kRoutes)) return false;
          if (std::stoi(m[1]) < running - 1) return false;
        }
        return true;
      },
      deadline, std::chrono::milliseconds(50));
}

std::vector<int> NatsServer::ports() const {
  std::vector<int> out;
  for (const auto& n : nodes_) out.push_back(n.port);
  return out;
}

std::string NatsServer::urls(const std::string& credentials) const {
  std::string out;
  for (const auto& n : nodes_) {
    if (!out.empty()) out += ",";
    out += "nats://" + credentials + addr(n.port);
  }
  return out;
}

std::string NatsServer::with_ports(const std::string& url, const std::vector<int>& ports) {
  // Each URL of the list ends in ":<port>"; the i-th gets ports[i].
  std::string out;
  std::size_t i = 0;
  for (const auto& one : NatsServerList::parse(url).urls) {
    out += (out.empty() ? "" : ",") + one.substr(0, one.rfind(':') + 1) +
           std::to_string(ports.at(i++));
  }
  return out;
}

// The development passwords of deploy/nats/dobj-auth.conf and production/users.conf.
std::string NatsServer::service_url() const {
  return profile_ == Profile::kProduction ? user_url("dobj-worker", "worker-dev")
                                          : user_url("dobj", "dobj-dev");
}

std::string NatsServer::timer_url() const {
  return profile_ == Profile::kProduction ? user_url("dobj-timer", "timer-dev") : service_url();
}

std::string NatsServer::client_url() const {
  return urls("");
}

std::string NatsServer::websocket_url() const {
  if (profile_ == Profile::kProduction) {
    throw std::logic_error("the production profile has no websocket listener");
  }
  return "ws://" + addr(nodes_[0].ws_port);
}

std::string NatsServer::user_url(const std::string& user, const std::string& password) const {
  return urls(user + ":" + password + "@");
}

}  // namespace dobj::testing
