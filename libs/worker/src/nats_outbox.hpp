#pragma once

#include <memory>

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
  explicit NatsOutbox(NatsConnection& nats);
  void reply(const std::string& reply_to, const protocol::Reply& reply) override;
  void event(const std::string& subject, const std::string& json_body,
             const std::string& traceparent) override;
  void alarm_hint() override;

 private:
  NatsConnection& nats_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace dobj
