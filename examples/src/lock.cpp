#include "lock.hpp"

#include "arguments.hpp"
#include "wall_time.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kHolderKey = "holder";
constexpr const char* kExpiresKey = "expires_at_ms";

// The current holder, if its lease has not run out.
Value live_holder(Context& ctx) {
  auto holder = ctx.storage().get(kHolderKey);
  auto expires = ctx.storage().get(kExpiresKey);
  if (!holder || !expires || expires->get<std::int64_t>() <= now_ms(ctx)) return nullptr;
  return *holder;
}
}  // namespace

Value Lock::acquire(Context& ctx, const Value& arg) {
  require_object(arg, "acquire");
  auto who = require_string(arg, "holder", kMaxHolderBytes);
  auto ttl = optional_int(arg, "ttl_ms", -1, 1, kMaxTtlMs);
  if (ttl < 0) throw Error(ErrorCode::kBadRequest, "'ttl_ms' is required");
  auto current = live_holder(ctx);
  if (!current.is_null() && current != who) return {{"acquired", false}, {"holder", current}};
  auto expires = now_ms(ctx) + ttl;
  ctx.storage().put(kHolderKey, who);
  ctx.storage().put(kExpiresKey, expires);
  ctx.set_alarm(WallTime(std::chrono::milliseconds(expires)));
  return {{"acquired", true}, {"holder", who}};
}

Value Lock::release(Context& ctx, const Value& arg) {
  auto who = require_string(require_object(arg, "release"), "holder", kMaxHolderBytes);
  if (live_holder(ctx) != who) return {{"released", false}};
  ctx.storage().del_many({kHolderKey, kExpiresKey});
  ctx.delete_alarm();
  return {{"released", true}};
}

Value Lock::holder(Context& ctx, const Value&) {
  return {{"holder", live_holder(ctx)}};
}

Value Lock::alarm(Context& ctx, const AlarmInfo&) {
  auto holder = ctx.storage().get(kHolderKey);
  auto expires = ctx.storage().get(kExpiresKey);
  if (!holder || !expires) return nullptr;
  if (expires->get<std::int64_t>() > now_ms(ctx)) {
    // Re-acquired with a later expiry after this alarm was set: wait for that one.
    ctx.set_alarm(WallTime(std::chrono::milliseconds(expires->get<std::int64_t>())));
    return nullptr;
  }
  ctx.storage().del_many({kHolderKey, kExpiresKey});
  ctx.publish("expired", {{"holder", *holder}});
  return nullptr;
}

}  // namespace dobj::examples
