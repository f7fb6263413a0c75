#include "rate_limiter.hpp"

#include <algorithm>

#include "arguments.hpp"
#include "wall_time.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kStateKey = "bucket";

struct Bucket {
  std::int64_t capacity = RateLimiter::kDefaultCapacity;
  std::int64_t refill_per_sec = RateLimiter::kDefaultRefillPerSec;
  std::int64_t tokens = RateLimiter::kDefaultCapacity;
  std::int64_t refilled_at_ms = 0;

  static Bucket load(Context& ctx) {
    Bucket b;
    b.refilled_at_ms = now_ms(ctx);
    if (auto v = ctx.storage().get(kStateKey)) {
      b.capacity = (*v)["capacity"];
      b.refill_per_sec = (*v)["refill_per_sec"];
      b.tokens = (*v)["tokens"];
      b.refilled_at_ms = (*v)["refilled_at_ms"];
    }
    return b;
  }
  void save(Context& ctx) const {
    ctx.storage().put(kStateKey, {{"capacity", capacity},
                                  {"refill_per_sec", refill_per_sec},
                                  {"tokens", tokens},
                                  {"refilled_at_ms", refilled_at_ms}});
    // Below capacity, the alarm refills the next token; full, no alarm is needed.
    if (tokens < capacity) {
      ctx.set_alarm(WallTime(std::chrono::milliseconds(refilled_at_ms + 1000 / refill_per_sec)));
    } else {
      ctx.delete_alarm();
    }
  }
  // Tokens earned since the last refill (whole tokens only; the remainder keeps accruing).
  void refill(const Context& ctx) {
    auto now = now_ms(ctx);
    auto earned = (now - refilled_at_ms) * refill_per_sec / 1000;
    if (earned <= 0) return;
    tokens = std::min(capacity, tokens + earned);
    refilled_at_ms = tokens == capacity ? now : refilled_at_ms + earned * 1000 / refill_per_sec;
  }
  Value status() const {
    return {{"tokens", tokens}, {"capacity", capacity}, {"refill_per_sec", refill_per_sec}};
  }
};
}  // namespace

void from_json(const Value& json, ConfigureArgs& args) {
  constexpr std::int64_t kAbsent = -1;
  auto capacity = optional_int(json, "capacity", kAbsent, 1, RateLimiter::kMaxCapacity);
  auto refill = optional_int(json, "refill_per_sec", kAbsent, 1, RateLimiter::kMaxRefillPerSec);
  if (capacity != kAbsent) args.capacity = capacity;
  if (refill != kAbsent) args.refill_per_sec = refill;
}

void from_json(const Value& json, TakeArgs& args) {
  args.tokens = optional_int(json, "tokens", 1, 1, RateLimiter::kMaxCapacity);
}

Value RateLimiter::configure(Context& ctx, const ConfigureArgs& args) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  b.capacity = args.capacity.value_or(b.capacity);
  b.refill_per_sec = args.refill_per_sec.value_or(b.refill_per_sec);
  b.tokens = std::min(b.tokens, b.capacity);
  b.save(ctx);
  return b.status();
}

Value RateLimiter::take(Context& ctx, const TakeArgs& args) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  auto want = args.tokens;
  bool allowed = b.tokens >= want;
  if (allowed) b.tokens -= want;
  b.save(ctx);
  return {{"allowed", allowed}, {"remaining", b.tokens}};
}

Value RateLimiter::status(Context& ctx) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  return b.status();
}

void RateLimiter::alarm(Context& ctx, const AlarmInfo&) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  b.save(ctx);
}

}  // namespace dobj::examples
