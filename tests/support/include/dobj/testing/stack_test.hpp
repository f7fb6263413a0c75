#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dobj/client/client.hpp"
#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {

// The fixture of the integration suites: a TestStack (own nats-server, own database) and what a
// test does with it as a client: call objects, read the database, record events.
class StackTest : public ::testing::Test {
 protected:
  // An anonymous client connection's options (the local profile's client user).
  NatsConnection::Options client_options(const std::string& name = "test-client");
  // A client on one connection, opened on first use.
  Client& client();
  Value call(const std::string& class_name, const std::string& id, const std::string& method,
             const Value& argument = nullptr);
  // The error code of a call that must fail (a test failure if it succeeds).
  ErrorCode call_error(const std::string& class_name, const std::string& id,
                       const std::string& method, const Value& argument = nullptr);
  // The first column of the first row (NULL → -1), on the stack's database as its owner.
  std::int64_t scalar(const std::string& sql) { return stack_.query_int(sql); }

  // From now on every event (evt.>) is recorded.
  void record_events();
  std::size_t events_on(const std::string& subject);
  std::vector<Value> bodies_on(const std::string& subject);
  std::vector<NatsMessage> events();

  TestStack stack_;

 private:
  std::unique_ptr<NatsConnection> nats_;
  std::unique_ptr<Client> client_;
  std::mutex events_mutex_;
  std::vector<NatsMessage> events_;
  NatsSubscription events_sub_;
};

}  // namespace dobj::testing
