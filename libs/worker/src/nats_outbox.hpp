#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/periodic_task.hpp"
#include "dobj/runtime/outbox.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// Replies and events leave through NATS. A reply larger than the server's max_payload becomes a
// too_large error reply instead of vanishing. flush() hands the connection's buffer to the server
// from a thread of its own (start()/stop()), so that no shard waits for the PONG. Replies to
// deliver now go through `direct`, a second connection that writes every publish at once (cnats'
// send_asap): no flushing thread and no PING for them. Without it (or while it is down) they are
// buffered and flushed.
class NatsOutbox final : public Outbox {
 public:
  using MessageSink = std::function<void(std::vector<store::DurableMessage>)>;
  // `messages`: where committed durable messages go (the worker's Courier). `direct` may be null.
  NatsOutbox(NatsConnection& nats, NatsConnection* direct, MessageSink messages);
  void start() { flusher_->start(); }
  void stop() { flusher_->stop(); }
  void reply(const std::string& reply_to, const protocol::Reply& reply, Delivery delivery) override;
  void event(const std::string& subject, const std::string& json_body,
             const std::string& traceparent) override;
  void alarm_hint() override;
  void messages_committed(std::vector<store::DurableMessage> messages) override;
  void flush() override;

 private:
  NatsConnection& nats_;
  NatsConnection* direct_;
  // One flush for every wake that came while the last one ran.
  void flush_now();

  MessageSink messages_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<PeriodicTask> flusher_;
};

}  // namespace dobj
