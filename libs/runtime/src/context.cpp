#include "dobj/runtime/context.hpp"

#include "alarm_state.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/names.hpp"

namespace dobj {

void Context::publish(const std::string& topic, Value payload) {
  if (!is_valid_topic(topic)) {
    throw Error(ErrorCode::kBadRequest,
                "invalid event topic '" + topic + "': must be 1-64 bytes of [A-Za-z0-9_-]");
  }
  events_.push_back(Event{topic, std::move(payload)});
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
