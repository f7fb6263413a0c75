#pragma once

#include <cstdint>
#include <string>

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

struct AcquireArgs {
  std::string holder;
  std::int64_t ttl_ms = 0;
};
struct ReleaseArgs {
  std::string holder;
};
void from_json(const Value& json, AcquireArgs& args);
void from_json(const Value& json, ReleaseArgs& args);

// A lease lock (DESIGN.md §9): acquire with a TTL; its alarm releases an expired holder and
// publishes evt.Lock.<id>.expired.
class Lock : public Object {
 public:
  constexpr static std::int64_t kMaxTtlMs = 24LL * 3600 * 1000;
  constexpr static std::size_t kMaxHolderBytes = 256;

  Value acquire(Context& ctx, const AcquireArgs& args);
  Value release(Context& ctx, const ReleaseArgs& args);
  Value holder(Context& ctx);
  void alarm(Context& ctx, const AlarmInfo& info);
};

}  // namespace dobj::examples
