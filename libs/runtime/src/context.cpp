#include "dobj/runtime/context.hpp"

#include "alarm_state.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/names.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/runtime/class_registry.hpp"

namespace dobj {

namespace {

void require_topic(const std::string& topic) {
  if (!is_valid_topic(topic)) {
    throw Error(ErrorCode::kBadRequest,
                "invalid event topic '" + topic + "': must be 1-64 bytes of [A-Za-z0-9_-]");
  }
}

}  // namespace

void Context::publish(const std::string& topic, Value payload) {
  require_topic(topic);
  events_.push_back(Event{topic, std::move(payload)});
}

void Context::publish_durable(const std::string& topic, const Value& payload) {
  require_topic(topic);
  queue_message(OutboundMessage{"", "", topic, {}, true}, payload);
}

void Context::queue_message(OutboundMessage message, const Value& argument) {
  if (messages_.size() >= kMaxSendsPerTurn) {
    throw Error(ErrorCode::kBadRequest, "a turn sends at most " + std::to_string(kMaxSendsPerTurn) +
                                            " durable messages and events");
  }
  message.body = protocol::encode_body(protocol::ContentType::kMsgpack, argument);
  if (message.body.size() > protocol::kDefaultMaxBodyBytes) {
    throw Error(ErrorCode::kBadRequest,
                "durable message is " + std::to_string(message.body.size()) + " bytes; at most " +
                    std::to_string(protocol::kDefaultMaxBodyBytes));
  }
  messages_.push_back(std::move(message));
}

void Context::require_target(const std::string& what, const std::string& class_name,
                             const std::string& object_id, const std::string& method) {
  if (!is_valid_class_name(class_name) || !is_valid_object_id(object_id) ||
      !is_valid_method_name(method)) {
    throw Error(ErrorCode::kBadRequest, what + " to '" + class_name + "." + object_id + "." +
                                            method + "': not a valid class, object id and method");
  }
}

void Context::send(const std::string& class_name, const std::string& object_id,
                   const std::string& method, const Value& argument) {
  require_target("send", class_name, object_id, method);
  queue_message(OutboundMessage{class_name, object_id, method, {}, false}, argument);
}

void Context::call(const std::string& class_name, const std::string& object_id,
                   const std::string& method, const Value& argument, const std::string& then,
                   Value carry, std::chrono::milliseconds timeout) {
  require_target("call", class_name, object_id, method);
  if (!def_) {
    throw Error(ErrorCode::kBadRequest, "ctx.call is for methods and continuations, not here");
  }
  if (!def_->continuations.count(then)) {
    throw Error(ErrorCode::kBadRequest, "call to " + class_name + "." + method + ": class '" +
                                            class_name_ + "' has no continuation '" + then +
                                            "' to resume in");
  }
  if (depth_ >= protocol::kMaxCallDepth) {
    throw Error(ErrorCode::kBadRequest, "call to " + class_name + "." + method + ": a chain of " +
                                            std::to_string(protocol::kMaxCallDepth) +
                                            " waiting objects is the limit");
  }
  if (timeout < std::chrono::milliseconds(1) || timeout > protocol::kMaxCallTimeout) {
    throw Error(ErrorCode::kBadRequest, "call timeout must be 1 ms to " +
                                            std::to_string(protocol::kMaxCallTimeout.count()) +
                                            " ms");
  }
  for (const auto& m : messages_) {
    if (m.call) throw Error(ErrorCode::kBadRequest, "a turn makes at most one call");
  }
  queue_message(
      OutboundMessage{
          class_name, object_id, method, {}, false, PendingCall{then, std::move(carry), timeout}},
      argument);
}

void Context::set_alarm(WallTime at) {
  alarm_.set(to_epoch_micros(at));
}

std::optional<WallTime> Context::get_alarm() const {
  auto at = alarm_.get();
  if (!at) return std::nullopt;
  return from_epoch_micros(*at);
}

void Context::delete_alarm() {
  alarm_.del();
}

}  // namespace dobj
