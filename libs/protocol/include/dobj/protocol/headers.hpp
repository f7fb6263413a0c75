#pragma once

namespace dobj::protocol {

constexpr const char* kStatusHeader = "Dobj-Status";
constexpr const char* kStatusOk = "ok";
constexpr const char* kStatusError = "error";
constexpr const char* kContentTypeHeader = "Content-Type";
constexpr const char* kJsonContentType = "application/json";
constexpr const char* kMsgpackContentType = "application/msgpack";
constexpr const char* kIdempotencyKeyHeader = "Dobj-Idempotency-Key";
constexpr const char* kTimeoutHeader = "Dobj-Timeout-Ms";
// A durable event's stable id (ctx.publish_durable): JetStream deduplicates by it.
constexpr const char* kMsgIdHeader = "Nats-Msg-Id";
// On a durable message (ctx.send): <class>/<id> of the object that sent it.
constexpr const char* kSenderHeader = "Dobj-Sender";
// On an awaited call (ctx.call): the objects waiting on it, <class>/<id> comma-separated, the
// original caller first and the calling object last.
constexpr const char* kCallChainHeader = "Dobj-Call-Chain";

}  // namespace dobj::protocol
