#include "chat_room.hpp"

#include "arguments.hpp"
#include "sql_schema.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kMembersKey = "members";
constexpr const char* kSeqKey = "seq";
constexpr const char* kMemberPrefix = "member:";

// The room's own tables, in its own schema; appended to, never edited.
const std::vector<std::string> kChatRoomTables{
    "CREATE TABLE messages (seq bigint PRIMARY KEY, user_name text NOT NULL, text text NOT NULL, "
    "posted_at timestamptz NOT NULL DEFAULT now())",
};

std::int64_t read_int(Context& ctx, const char* key) {
  return ctx.storage().get_or<std::int64_t>(key, 0);
}
}  // namespace

void from_json(const Value& json, JoinArgs& args) {
  args.user = require_string(require_object(json, "join"), "user", ChatRoom::kMaxUserBytes);
}

void from_json(const Value& json, PostArgs& args) {
  require_object(json, "post");
  args.user = require_string(json, "user", ChatRoom::kMaxUserBytes);
  args.text = require_string(json, "text", ChatRoom::kMaxTextBytes);
}

void from_json(const Value& json, HistoryArgs& args) {
  args.limit = optional_int(json, "limit", ChatRoom::kDefaultHistory, 1, ChatRoom::kMaxHistory);
}

Value ChatRoom::join(Context& ctx, const JoinArgs& args) {
  const auto& user = args.user;
  auto members = read_int(ctx, kMembersKey);
  auto member_key = kMemberPrefix + user;
  if (!ctx.storage().get(member_key)) {
    ctx.storage().put(member_key, true);
    ctx.storage().put(kMembersKey, ++members);
  }
  return {{"members", members}};
}

Value ChatRoom::post(Context& ctx, const PostArgs& args) {
  const auto& [user, text] = args;
  ensure_sql_schema(ctx, kChatRoomTables);
  auto seq = read_int(ctx, kSeqKey) + 1;
  ctx.storage().put(kSeqKey, seq);
  ctx.sql().exec("INSERT INTO messages (seq, user_name, text) VALUES ($1, $2, $3)", seq, user,
                 text);
  Value message = {{"seq", seq}, {"user", user}, {"text", text}};
  ctx.publish("message", message);
  return {{"seq", seq}};
}

Value ChatRoom::history(Context& ctx, const HistoryArgs& args) {
  if (!ensure_sql_schema(ctx, kChatRoomTables, /*create=*/false)) return Value::array();
  auto rows = ctx.sql().exec(
      "SELECT seq, user_name AS \"user\", text FROM "
      "(SELECT * FROM messages ORDER BY seq DESC LIMIT $1) newest ORDER BY seq",
      args.limit);
  return rows.to_objects();
}

}  // namespace dobj::examples
