#pragma once

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// join {"user"} → {"members"}; post {"user", "text"} → {"seq"} and event "message";
// history {"limit"} → messages oldest first. Messages live in the room's own SQL table.
class ChatRoom : public Object {
 public:
  constexpr static std::size_t kMaxUserBytes = 128;
  constexpr static std::size_t kMaxTextBytes = 16 * 1024;
  constexpr static std::int64_t kDefaultHistory = 50;
  constexpr static std::int64_t kMaxHistory = 1000;

  Value join(Context& ctx, const Value& arg);
  Value post(Context& ctx, const Value& arg);
  Value history(Context& ctx, const Value& arg);
};

}  // namespace dobj::examples
