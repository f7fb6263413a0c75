#include "dobj/testing/stack_test.hpp"

#include <algorithm>

namespace dobj::testing {

NatsConnection::Options StackTest::client_options(const std::string& name) {
  return {stack_.nats().client_url(), name, true};
}

Client& StackTest::client() {
  if (!client_) {
    nats_ = std::make_unique<NatsConnection>(client_options());
    client_ = std::make_unique<Client>(*nats_);
  }
  return *client_;
}

Value StackTest::call(const std::string& class_name, const std::string& id,
                      const std::string& method, const Value& argument) {
  return client().call(class_name, id, method, argument);
}

ErrorCode StackTest::call_error(const std::string& class_name, const std::string& id,
                                const std::string& method, const Value& argument) {
  try {
    call(class_name, id, method, argument);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << class_name << "." << method << " did not fail";
  return ErrorCode::kBadRequest;
}

void StackTest::record_events() {
  client();
  events_sub_ = nats_->subscribe("evt.>", [this](natsMsg* m) {
    auto msg = NatsMessage::from(m);
    natsMsg_Destroy(m);
    std::lock_guard lock(events_mutex_);
    events_.push_back(std::move(msg));
  });
  nats_->flush(std::chrono::seconds(2));
}

std::size_t StackTest::events_on(const std::string& subject) {
  std::lock_guard lock(events_mutex_);
  return std::count_if(events_.begin(), events_.end(),
                       [&](const NatsMessage& m) { return m.subject == subject; });
}

std::vector<Value> StackTest::bodies_on(const std::string& subject) {
  std::lock_guard lock(events_mutex_);
  std::vector<Value> out;
  for (const auto& m : events_) {
    if (m.subject == subject) out.push_back(Value::parse(m.body));
  }
  return out;
}

std::vector<NatsMessage> StackTest::events() {
  std::lock_guard lock(events_mutex_);
  return events_;
}

}  // namespace dobj::testing
