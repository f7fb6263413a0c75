#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "dobj/client/nats_connection.hpp"
#include "dobj/runtime/outbox.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// Replies and events leave through NATS. A reply larger than the server's max_payload becomes a
// too_large error reply instead of vanishing.
class NatsOutbox final : public Outbox {
 public:
  using MessageSink = std::function<void(std::vector<store::DurableMessage>)>;
  // `messages`: where committed durable messages go (the worker's Courier).
  NatsOutbox(NatsConnection& nats, MessageSink messages);
  void reply(const std::string& reply_to, const protocol::Reply& reply) override;
  void event(const std::string& subject, const std::string& json_body,
             const std::string& traceparent) override;
  void alarm_hint() override;
  void messages_committed(std::vector<store::DurableMessage> messages) override;

 private:
  NatsConnection& nats_;
  MessageSink messages_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace dobj
