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

NatsServer::NatsServer() {
  dir_ = make_temp_dir("dobj-nats");
  port_ = free_port();
  // include paths are relative to the including file: the shared part is copied beside it.
  for (const char* file : {"dobj.conf", "dobj-auth.conf"}) {
    std::filesystem::copy_file(std::string(DOBJ_SOURCE_DIR) + "/deploy/nats/" + file,
                               dir_ + "/" + file);
  }
  std::ofstream(dir_ + "/nats.conf") << "listen: 127.0.0.1:" << port_ << "\n"
                                     << "include dobj.conf\n";
  start();
}

NatsServer::~NatsServer() {
  stop();
  remove_tree(dir_);
}

void NatsServer::start() {
  const char* binary = std::getenv("DOBJ_NATS_SERVER");
  process_ = std::make_unique<Process>(
      std::vector<std::string>{binary && *binary ? binary : "/usr/sbin/nats-server", "-c",
                               dir_ + "/nats.conf"},
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

std::string NatsServer::service_url() const {
  return "nats://dobj:dobj-dev@127.0.0.1:" + std::to_string(port_);
}

std::string NatsServer::client_url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

}  // namespace dobj::testing
