#include "dobj/runtime/context.hpp"

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

}  // namespace dobj
