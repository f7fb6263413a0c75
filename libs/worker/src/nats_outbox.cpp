#include "nats_outbox.hpp"

#include "dobj/core/logging.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/protocol/trace_context.hpp"

namespace dobj {
namespace {
// Room for the headers next to the body.
constexpr std::int64_t kHeaderAllowance = 1024;
// A flush waits this long for the server's PONG at most; the replies are sent either way.
constexpr std::chrono::milliseconds kFlushTimeout{1000};
// The flusher's wait when no flush is asked for.
constexpr std::chrono::milliseconds kFlusherIdle{60'000};
}  // namespace

NatsOutbox::NatsOutbox(NatsConnection& nats, NatsConnection* direct, MessageSink messages)
    : nats_(nats), direct_(direct), messages_(std::move(messages)), log_(logger("outbox")) {
  flusher_ = std::make_unique<PeriodicTask>(
      "reply-flusher",
      [this] {
        flush_now();
        return kFlusherIdle;  // until the next flush() wakes it
      },
      kFlusherIdle);
}

void NatsOutbox::messages_committed(std::vector<store::DurableMessage> messages) {
  messages_(std::move(messages));
}

void NatsOutbox::reply(const std::string& reply_to, const protocol::Reply& reply,
                       Delivery delivery) {
  const protocol::Reply* out = &reply;
  protocol::Reply too_large;
  auto limit = nats_.max_payload() - kHeaderAllowance;
  if (static_cast<std::int64_t>(reply.body.size()) > limit) {
    too_large = protocol::error_reply(
        reply.content_type, Error(ErrorCode::kTooLarge,
                                  "reply is " + std::to_string(reply.body.size()) +
                                      " bytes; the NATS server accepts " + std::to_string(limit)));
    out = &too_large;
  }
  // While the direct connection reconnects, a reply there would wait for it: the buffered one
  // takes it, with a flush since the shard asks for none.
  bool now = delivery == Delivery::kNow;
  NatsConnection& via = now && direct_ && direct_->connected() ? *direct_ : nats_;
  try {
    via.publish(reply_to, out->body,
                {{protocol::kStatusHeader, out->ok ? protocol::kStatusOk : protocol::kStatusError},
                 {protocol::kContentTypeHeader, protocol::content_type_header(out->content_type)},
                 {protocol::kTraceparentHeader,
                  reply.traceparent.empty() ? nullptr : reply.traceparent.c_str()}});
  } catch (const TransportError& e) {
    // The client's request times out and it retries; nothing else can be done here.
    log_->warn("reply to {} lost: {}", reply_to, e.what());
  }
  if (now && &via == &nats_) flush();
}

void NatsOutbox::event(const std::string& subject, const std::string& json_body,
                       const std::string& traceparent) {
  try {
    nats_.publish(
        subject, json_body,
        {{protocol::kContentTypeHeader, protocol::kJsonContentType},
         {protocol::kTraceparentHeader, traceparent.empty() ? nullptr : traceparent.c_str()}});
  } catch (const TransportError& e) {
    log_->warn("event {} lost: {}", subject, e.what());
  }
}

void NatsOutbox::flush() {
  flusher_->wake();
}

void NatsOutbox::flush_now() {
  // Reconnecting: the replies wait in cnats' buffer for the connection whatever a flush does.
  // Nothing buffered: cnats' own flusher was first, no PING is needed.
  if (!nats_.connected() || natsConnection_Buffered(nats_.raw()) <= 0) return;
  try {
    nats_.flush(kFlushTimeout);
  } catch (const TransportError& e) {
    log_->debug("flushing replies: {}", e.what());
  }
}

void NatsOutbox::alarm_hint() {
  try {
    nats_.publish(protocol::kAlarmHintSubject, "");
  } catch (const TransportError& e) {
    log_->debug("alarm hint lost (the timers' scan finds the alarm): {}", e.what());
  }
}

}  // namespace dobj
