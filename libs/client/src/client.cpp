#include "dobj/client/client.hpp"

#include <random>
#include <thread>

#include "dobj/core/error.hpp"
#include "dobj/core/names.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/protocol/subject.hpp"

namespace dobj {
namespace {

std::chrono::milliseconds backoff(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto base = CallOptions::kFirstBackoff * (1 << std::min(attempt, 10));
  base = std::min(base, CallOptions::kMaxBackoff);
  std::uniform_int_distribution<long> jitter(base.count() / 2, base.count());
  return std::chrono::milliseconds(jitter(rng));
}

bool may_retry(const Error& e, bool idempotent) {
  switch (e.code()) {
    case ErrorCode::kMoved:
    case ErrorCode::kOverloaded:
      return true;
    case ErrorCode::kTimeout:
    case ErrorCode::kStorageError:
    case ErrorCode::kUnknownOutcome:  // the stored reply of a first success answers the retry
      return idempotent;
    default:
      return false;
  }
}

}  // namespace

Value Client::call(const std::string& class_name, const std::string& object_id,
                   const std::string& method, const Value& argument, const CallOptions& options) {
  if (!is_valid_class_name(class_name)) {
    throw Error(ErrorCode::kBadRequest, "invalid class name '" + class_name + "'");
  }
  if (!is_valid_object_id(object_id)) {
    throw Error(ErrorCode::kBadRequest, "invalid object id '" + object_id + "'");
  }
  if (!is_valid_method_name(method)) {
    throw Error(ErrorCode::kBadRequest, "invalid method name '" + method + "'");
  }
  auto subject = protocol::client_subject(class_name, object_id, method);
  auto body =
      argument.is_null() ? std::string() : protocol::encode_body(options.content_type, argument);
  std::map<std::string, std::string> headers{
      {protocol::kContentTypeHeader, protocol::content_type_header(options.content_type)}};
  if (options.idempotency_key) headers[protocol::kIdempotencyKeyHeader] = *options.idempotency_key;
  if (options.send_timeout_header) {
    headers[protocol::kTimeoutHeader] = std::to_string(options.timeout.count());
  }
  auto started = std::chrono::steady_clock::now();
  auto out_of_time = [&](std::chrono::milliseconds next_wait) {
    return options.total_timeout &&
           std::chrono::steady_clock::now() + next_wait - started > *options.total_timeout;
  };

  for (int attempt = 1;; ++attempt) {
    try {
      NatsMessage reply;
      try {
        reply = nats_.request(subject, body, headers, options.timeout);
      } catch (const NotPermittedError&) {
        throw;  // final: the caller's NATS user may not make this call
      } catch (const TransportError& e) {
        throw Error(ErrorCode::kTimeout, std::string("no reply: ") + e.what());
      }
      if (reply.no_responders) {
        throw Error(ErrorCode::kMoved, "no worker serves " + subject + " right now");
      }
      return protocol::parse_reply(reply.header(protocol::kStatusHeader),
                                   reply.header(protocol::kContentTypeHeader), reply.body);
    } catch (const Error& e) {
      auto wait = backoff(attempt);
      if (attempt >= options.max_attempts || !may_retry(e, options.idempotency_key.has_value()) ||
          out_of_time(wait)) {
        throw;
      }
      if (options.on_retry) options.on_retry(e);
      std::this_thread::sleep_for(wait);
    }
  }
}

}  // namespace dobj
