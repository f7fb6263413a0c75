#include "dobj/testing/nats_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace dobj::testing {
namespace {

bool accepts(int port) {
  int fd = connect_loopback(port);
  bool ok = fd >= 0;
  if (ok) close(fd);
  return ok;
}

}  // namespace

NatsServer::NatsServer(Profile profile) : profile_(profile) {
  dir_ = make_temp_dir("dobj-nats");
  port_ = free_port();
  ws_port_ = free_port();
  // The shipped files as they are, beside a top file with this server's port (include paths
  // are relative to the including file).
  std::filesystem::copy(std::string(DOBJ_SOURCE_DIR) + "/deploy/nats", dir_ + "/nats",
                        std::filesystem::copy_options::recursive);
  if (profile_ != Profile::kProduction) {
    config_ = dir_ + "/nats/test.conf";
    std::ofstream(config_) << "listen: 127.0.0.1:" << port_ << "\n"
                           << "websocket { listen: 127.0.0.1:" << ws_port_ << ", no_tls: true }\n"
                           << "include dobj.conf\n"
                           << (profile_ == Profile::kLocal ? "include dobj-auth.conf\n" : "");
  } else {
    config_ = dir_ + "/nats/production/test.conf";
    std::ofstream(config_) << "listen: 127.0.0.1:" << port_ << "\n"
                           << "include ../dobj.conf\ninclude authorization.conf\n";
  }
  start();
}

NatsServer::~NatsServer() {
  stop();
  remove_tree(dir_);
}

void NatsServer::start() {
  const char* binary = std::getenv("DOBJ_NATS_SERVER");
  process_ = std::make_unique<Process>(
      std::vector<std::string>{binary && *binary ? binary : "/usr/sbin/nats-server", "-c", config_},
      std::map<std::string, std::string>{}, dir_ + "/server.log");
  if (!wait_until([this] { return accepts(port_); }, std::chrono::seconds(10))) {
    throw std::runtime_error("nats-server did not start:\n" + read_file(dir_ + "/server.log"));
  }
}

void NatsServer::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  process_->wait(std::chrono::seconds(10));
  process_.reset();
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
  return "nats://127.0.0.1:" + std::to_string(port_);
}

std::string NatsServer::websocket_url() const {
  if (profile_ == Profile::kProduction) {
    throw std::logic_error("the production profile has no websocket listener");
  }
  return "ws://127.0.0.1:" + std::to_string(ws_port_);
}

std::string NatsServer::user_url(const std::string& user, const std::string& password) const {
  return "nats://" + user + ":" + password + "@127.0.0.1:" + std::to_string(port_);
}

}  // namespace dobj::testing
