#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"
#include "dobj/protocol/codec.hpp"

namespace dobj {

struct CallOptions {
  constexpr static std::chrono::milliseconds kDefaultTimeout{5000};
  constexpr static int kDefaultMaxAttempts = 6;
  constexpr static std::chrono::milliseconds kFirstBackoff{50};
  constexpr static std::chrono::milliseconds kMaxBackoff{500};  // bounds the wait past a failover

  std::chrono::milliseconds timeout = kDefaultTimeout;  // per attempt
  protocol::ContentType content_type = protocol::ContentType::kJson;
  int max_attempts = kDefaultMaxAttempts;
  // When set, retries go on (up to max_attempts) only while this much time has not passed
  // since the call began: how long a caller is willing to wait through a failover.
  std::optional<std::chrono::milliseconds> total_timeout{};
  // Sends Dobj-Timeout-Ms with the per-attempt timeout, so that a worker does not start a
  // request its caller has stopped waiting for.
  bool send_timeout_header = true;
  // Called before each retry with the error that caused it (logging, metrics).
  std::function<void(const Error&)> on_retry{};
  // With a key, a retry cannot apply the request twice, so timeouts and storage errors are
  // retried too; without one only errors that prove nothing ran (moved, overloaded, no
  // responders) are.
  std::optional<std::string> idempotency_key{};
};

// Calls objects over NATS (obj.<class>.<id>.<method>); speaks only the wire protocol.
class Client {
 public:
  explicit Client(NatsConnection& nats) : nats_(nats) {}

  // The reply's value; throws Error with the reply's code, Error(kTimeout) when no reply came,
  // and Error(kBadRequest) for names that cannot form a subject; NotPermittedError when the
  // connection's NATS user may not call this class or method (deploy/nats/production).
  Value call(const std::string& class_name, const std::string& object_id, const std::string& method,
             const Value& argument, const CallOptions& options = {});

 private:
  NatsConnection& nats_;
};

}  // namespace dobj
