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

void from_json(const Value& json, AcquireArgs& args) {
  require_object(json, "acquire");
  args.holder = require_string(json, "holder", Lock::kMaxHolderBytes);
  args.ttl_ms = optional_int(json, "ttl_ms", -1, 1, Lock::kMaxTtlMs);
  if (args.ttl_ms < 0) throw Error(ErrorCode::kBadRequest, "'ttl_ms' is required");
}

void from_json(const Value& json, ReleaseArgs& args) {
  args.holder = require_string(require_object(json, "release"), "holder", Lock::kMaxHolderBytes);
}

Value Lock::acquire(Context& ctx, const AcquireArgs& args) {
  const auto& who = args.holder;
  auto ttl = args.ttl_ms;
  auto current = live_holder(ctx);
  if (!current.is_null() && current != who) return {{"acquired", false}, {"holder", current}};
  auto expires = now_ms(ctx) + ttl;
  ctx.storage().put(kHolderKey, who);
  ctx.storage().put(kExpiresKey, expires);
  ctx.set_alarm(WallTime(std::chrono::milliseconds(expires)));
  return {{"acquired", true}, {"holder", who}};
}

Value Lock::release(Context& ctx, const ReleaseArgs& args) {
  if (live_holder(ctx) != args.holder) return {{"released", false}};
  ctx.storage().del_many({kHolderKey, kExpiresKey});
  ctx.delete_alarm();
  return {{"released", true}};
}

Value Lock::holder(Context& ctx) {
  return {{"holder", live_holder(ctx)}};
}

void Lock::alarm(Context& ctx, const AlarmInfo&) {
  auto holder = ctx.storage().get(kHolderKey);
  auto expires = ctx.storage().get(kExpiresKey);
  if (!holder || !expires) return;
  if (expires->get<std::int64_t>() > now_ms(ctx)) {
    // Re-acquired with a later expiry after this alarm was set: wait for that one.
    ctx.set_alarm(WallTime(std::chrono::milliseconds(expires->get<std::int64_t>())));
    return;
  }
  ctx.storage().del_many({kHolderKey, kExpiresKey});
  ctx.publish("expired", {{"holder", *holder}});
}

}  // namespace dobj::examples
