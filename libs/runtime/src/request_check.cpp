#include "request_check.hpp"

#include <charconv>
#include <string>

#include "dobj/core/error.hpp"
#include "dobj/core/text.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"

namespace dobj {
namespace {

// Dobj-Timeout-Ms: a message still queued when it runs out is answered `timeout`, not run.
std::optional<Clock::TimePoint> deadline_of(const InboundMessage& m, Clock& clock) {
  if (!m.timeout_ms) return std::nullopt;
  std::int64_t ms = 0;
  auto [end, ec] =
      std::from_chars(m.timeout_ms->data(), m.timeout_ms->data() + m.timeout_ms->size(), ms);
  if (ec != std::errc() || end != m.timeout_ms->data() + m.timeout_ms->size() || ms < 1 ||
      ms > protocol::kMaxTimeoutMs) {
    throw Error(ErrorCode::kBadRequest, std::string(protocol::kTimeoutHeader) +
                                            " must be an integer from 1 to " +
                                            std::to_string(protocol::kMaxTimeoutMs));
  }
  return clock.now() + std::chrono::milliseconds(ms);
}

}  // namespace

bool check_request(const InboundMessage& message, const ClassRegistry& registry,
                   const RequestLimits& limits, Clock& clock, const std::function<bool(int)>& owned,
                   ShardCommand& command) {
  command.content_type = protocol::content_type_from_header(message.content_type);
  command.subject = protocol::parse_inbound_subject(message.subject);
  if (command.subject.method == protocol::kProbeMethod) return false;
  const auto& s = command.subject;
  if (s.partition != protocol::partition_of(s.class_name, s.object_id, limits.partitions)) {
    throw Error(ErrorCode::kBadRequest, "partition token " + std::to_string(s.partition) +
                                            " does not match the object; publish to obj.*");
  }
  if (!owned(s.partition)) {
    throw Error(ErrorCode::kMoved, "partition " + std::to_string(s.partition) +
                                       " is not served by this worker right now; retry");
  }
  if (message.header_bytes > protocol::kMaxHeaderBytes) {
    throw Error(ErrorCode::kTooLarge, "headers are " + std::to_string(message.header_bytes) +
                                          " bytes; the limit is " +
                                          std::to_string(protocol::kMaxHeaderBytes));
  }
  if (message.body.size() > limits.max_body_bytes) {
    throw Error(ErrorCode::kTooLarge, "body is " + std::to_string(message.body.size()) +
                                          " bytes; the limit is " +
                                          std::to_string(limits.max_body_bytes));
  }
  command.def = registry.find(s.class_name);
  if (!command.def) throw Error(ErrorCode::kNoSuchClass, "no class '" + s.class_name + "'");
  command.method = command.def->find_method(s.method);
  if (command.method) command.method_name = command.def->methods.find(s.method)->first;
  if (!command.method) {
    throw Error(ErrorCode::kNoSuchMethod,
                "class '" + s.class_name + "' has no method '" + s.method + "'");
  }
  command.deadline = deadline_of(message, clock);
  if (message.idempotency_key &&
      (message.idempotency_key->empty() ||
       message.idempotency_key->size() > protocol::kMaxIdempotencyKeyBytes ||
       !is_text(*message.idempotency_key))) {
    throw Error(ErrorCode::kBadRequest, std::string(protocol::kIdempotencyKeyHeader) +
                                            " must be 1 to " +
                                            std::to_string(protocol::kMaxIdempotencyKeyBytes) +
                                            " bytes of valid UTF-8 without NUL");
  }
  return true;
}

}  // namespace dobj
