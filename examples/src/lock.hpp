#pragma once

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// A lease lock (DESIGN.md §9): acquire with a TTL; its alarm releases an expired holder and
// publishes evt.Lock.<id>.expired.
class Lock : public Object {
 public:
  constexpr static std::int64_t kMaxTtlMs = 24LL * 3600 * 1000;
  constexpr static std::size_t kMaxHolderBytes = 256;

  Value acquire(Context& ctx, const Value& arg);
  Value release(Context& ctx, const Value& arg);
  Value holder(Context& ctx, const Value& arg);
  Value alarm(Context& ctx, const AlarmInfo& info);
};

}  // namespace dobj::examples
