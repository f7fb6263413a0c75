#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dobj/protocol/reply.hpp"
#include "dobj/store/object_store.hpp"

namespace dobj {

// A request as the transport hands it to the runtime.
struct InboundMessage {
  std::string subject;   // dobj.in.<p>.<class>.<id>.<method>
  std::string reply_to;  // empty for fire-and-forget
  std::optional<std::string> content_type;
  std::string body;
  std::optional<std::string> idempotency_key;  // Dobj-Idempotency-Key
  std::optional<std::string> timeout_ms;       // Dobj-Timeout-Ms, as sent
  std::size_t header_bytes = 0;                // every header's name and value, summed
  std::optional<std::string> traceparent;      // W3C trace context, as sent
  std::optional<std::string> call_chain;       // Dobj-Call-Chain: an awaited call's waiters
  // The worker registration whose subscription received it (0: the current one). One held from an
  // earlier registration is neither run nor answered: its partition may be another worker's by
  // now, subscribed before this one's subscription ended, so the same message went there too.
  store::WorkerId registration = 0;
};

// Where replies and events leave the process (NATS in the worker, memory in tests). Called from
// shard threads and the dispatching thread concurrently: implementations must be thread-safe.
class Outbox {
 public:
  // kBuffered: the reply may wait for others to share its write (the transport's batching, or
  // the next flush()). kNow: it leaves before reply() returns; for a batch whose few replies have
  // nothing to share a write with (nothing else waits for the shard), which spares a hand-off to
  // a flushing thread and its round trip.
  enum class Delivery { kBuffered, kNow };

  virtual ~Outbox() = default;
  virtual void reply(const std::string& reply_to, const protocol::Reply& reply,
                     Delivery delivery) = 0;
  // traceparent: the turn's (W3C), sent as the event's header.
  virtual void event(const std::string& subject, const std::string& json_body,
                     const std::string& traceparent) = 0;
  // A commit set an alarm due soon: wake the timers before their next scan.
  virtual void alarm_hint() = 0;
  // Durable messages (Context::send) a commit stored in dobj.outbox: deliver them.
  virtual void messages_committed(std::vector<store::DurableMessage> messages) = 0;
  // Replies are out and nothing else waits: send what is buffered now, not when the transport's own
  // flusher next runs (NATS: up to a millisecond more for a lone request).
  virtual void flush() {}
};

}  // namespace dobj
