#pragma once

#include <cstdint>
#include <string>

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

struct JoinArgs {
  std::string user;
};
struct PostArgs {
  std::string user;
  std::string text;
};
struct HistoryArgs {
  std::int64_t limit = 0;
};
// Field checks of schemas/examples.md: a missing or oversized field is bad_request.
void from_json(const Value& json, JoinArgs& args);
void from_json(const Value& json, PostArgs& args);
void from_json(const Value& json, HistoryArgs& args);

// join {"user"} → {"members"}; post {"user", "text"} → {"seq"} and event "message";
// history {"limit"} → messages oldest first. Messages live in the room's own SQL table.
class ChatRoom : public Object {
 public:
  constexpr static std::size_t kMaxUserBytes = 128;
  constexpr static std::size_t kMaxTextBytes = 16 * 1024;
  constexpr static std::int64_t kDefaultHistory = 50;
  constexpr static std::int64_t kMaxHistory = 1000;

  Value join(Context& ctx, const JoinArgs& args);
  Value post(Context& ctx, const PostArgs& args);
  Value history(Context& ctx, const HistoryArgs& args);
};

}  // namespace dobj::examples
