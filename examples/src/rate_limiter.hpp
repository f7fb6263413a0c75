#pragma once

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// A token bucket: take spends tokens; its alarm refills them at refill_per_sec until full.
class RateLimiter : public Object {
 public:
  constexpr static std::int64_t kDefaultCapacity = 10;
  constexpr static std::int64_t kDefaultRefillPerSec = 1;
  constexpr static std::int64_t kMaxCapacity = 1'000'000;
  constexpr static std::int64_t kMaxRefillPerSec = 1'000'000;

  Value configure(Context& ctx, const Value& arg);
  Value take(Context& ctx, const Value& arg);
  Value status(Context& ctx, const Value& arg);
  Value alarm(Context& ctx, const AlarmInfo& info);
};

}  // namespace dobj::examples
