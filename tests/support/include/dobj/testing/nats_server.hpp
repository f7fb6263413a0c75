#pragma once

#include <memory>
#include <string>

#include "dobj/testing/process.hpp"

namespace dobj::testing {

// A throwaway nats-server on a random 127.0.0.1 port, configured with one of the shipped
// profiles: deploy/nats/dobj.conf (partition mapping) and its users and permissions.
class NatsServer {
 public:
  enum class Profile {
    kLocal,       // deploy/nats/dobj-auth.conf: one service user, anonymous clients
    kProduction,  // deploy/nats/production: a user per service and per application
    kOpen,        // the mapping without users: benchmarks whose baselines use their own subjects
  };

  explicit NatsServer(Profile profile = Profile::kLocal);
  ~NatsServer();

  int port() const { return port_; }
  // As the worker's service user.
  std::string service_url() const;
  // As the timer's service user (the same user in the local profile).
  std::string timer_url() const;
  // As an anonymous client (local profile: mapped to the restricted client user).
  std::string client_url() const;
  // The websocket listener for browsers (nats.ws), anonymous like client_url(); not in the
  // production profile.
  std::string websocket_url() const;
  // As a named user of the profile (production: chat-app, ops, …), with its password.
  std::string user_url(const std::string& user, const std::string& password) const;
  void stop();
  void start();

 private:
  Profile profile_;
  std::string dir_;
  std::string config_;
  int port_ = 0;
  int ws_port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace dobj::testing
