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

Value RateLimiter::configure(Context& ctx, const Value& arg) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  b.capacity = optional_int(arg, "capacity", b.capacity, 1, kMaxCapacity);
  b.refill_per_sec = optional_int(arg, "refill_per_sec", b.refill_per_sec, 1, kMaxRefillPerSec);
  b.tokens = std::min(b.tokens, b.capacity);
  b.save(ctx);
  return b.status();
}

Value RateLimiter::take(Context& ctx, const Value& arg) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  auto want = optional_int(arg, "tokens", 1, 1, kMaxCapacity);
  bool allowed = b.tokens >= want;
  if (allowed) b.tokens -= want;
  b.save(ctx);
  return {{"allowed", allowed}, {"remaining", b.tokens}};
}

Value RateLimiter::status(Context& ctx, const Value&) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  return b.status();
}

Value RateLimiter::alarm(Context& ctx, const AlarmInfo&) {
  auto b = Bucket::load(ctx);
  b.refill(ctx);
  b.save(ctx);
  return nullptr;
}

}  // namespace dobj::examples
