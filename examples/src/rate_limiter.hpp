#pragma once

#include <cstdint>
#include <optional>

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// configure {"capacity", "refill_per_sec"}: either may be absent (kept as configured).
struct ConfigureArgs {
  std::optional<std::int64_t> capacity;
  std::optional<std::int64_t> refill_per_sec;
};
// take {"tokens": n}: 1 when absent.
struct TakeArgs {
  std::int64_t tokens = 1;
};
void from_json(const Value& json, ConfigureArgs& args);
void from_json(const Value& json, TakeArgs& args);

// A token bucket: take spends tokens; its alarm refills them at refill_per_sec until full.
class RateLimiter : public Object {
 public:
  constexpr static std::int64_t kDefaultCapacity = 10;
  constexpr static std::int64_t kDefaultRefillPerSec = 1;
  constexpr static std::int64_t kMaxCapacity = 1'000'000;
  constexpr static std::int64_t kMaxRefillPerSec = 1'000'000;

  Value configure(Context& ctx, const ConfigureArgs& args);
  Value take(Context& ctx, const TakeArgs& args);
  Value status(Context& ctx);
  void alarm(Context& ctx, const AlarmInfo& info);
};

}  // namespace dobj::examples
