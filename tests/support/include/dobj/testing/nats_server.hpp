#pragma once

#include <memory>
#include <string>

#include "dobj/testing/process.hpp"

namespace dobj::testing {

// A throwaway nats-server on a random 127.0.0.1 port, configured with the shipped
// deploy/nats/dobj.conf (partition mapping, users and permissions).
class NatsServer {
 public:
  NatsServer();
  ~NatsServer();

  int port() const { return port_; }
  // As the dobj service user (workers, timers, internal publishers).
  std::string service_url() const;
  // As an anonymous client (mapped to the restricted client user).
  std::string client_url() const;
  void stop();
  void start();

 private:
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace dobj::testing
