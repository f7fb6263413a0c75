#include "chat_room.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "arguments.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kMembersKey = "members";
constexpr const char* kSeqKey = "seq";
constexpr const char* kMemberPrefix = "member:";
constexpr const char* kMessagePrefix = "msg:";

std::int64_t read_int(Context& ctx, const char* key) {
  auto v = ctx.storage().get(key);
  return v ? v->get<std::int64_t>() : 0;
}

// Zero-padded so that key order is sequence order.
std::string message_key(std::int64_t seq) {
  return fmt::format("{}{:020d}", kMessagePrefix, seq);
}
}  // namespace

Value ChatRoom::join(Context& ctx, const Value& arg) {
  auto user = require_string(require_object(arg, "join"), "user", kMaxUserBytes);
  auto members = read_int(ctx, kMembersKey);
  auto member_key = kMemberPrefix + user;
  if (!ctx.storage().get(member_key)) {
    ctx.storage().put(member_key, true);
    ctx.storage().put(kMembersKey, ++members);
  }
  return {{"members", members}};
}

Value ChatRoom::post(Context& ctx, const Value& arg) {
  require_object(arg, "post");
  auto user = require_string(arg, "user", kMaxUserBytes);
  auto text = require_string(arg, "text", kMaxTextBytes);
  auto seq = read_int(ctx, kSeqKey) + 1;
  Value message = {{"seq", seq}, {"user", user}, {"text", text}};
  ctx.storage().put(kSeqKey, seq);
  ctx.storage().put(message_key(seq), message);
  ctx.publish("message", message);
  return {{"seq", seq}};
}

Value ChatRoom::history(Context& ctx, const Value& arg) {
  auto limit = optional_int(arg, "limit", kDefaultHistory, 1, kMaxHistory);
  ListOptions options;
  options.prefix = kMessagePrefix;
  options.reverse = true;
  options.limit = static_cast<std::size_t>(limit);
  auto newest_first = ctx.storage().list(options);
  Value out = Value::array();
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) out.push_back(it->second);
  return out;
}

}  // namespace dobj::examples
