#pragma once

#include <cstdint>

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// inc's argument: {"by": n}, n a 64-bit integer, 1 when absent (or no argument at all).
struct IncArgs {
  std::int64_t by = 1;
};
void from_json(const Value& json, IncArgs& args);

// A durable integer: inc {"by": n} → new value, get → value, reset → null.
class Counter : public Object {
 public:
  std::int64_t inc(Context& ctx, const IncArgs& args);
  std::int64_t get(Context& ctx);
  void reset(Context& ctx);
};

}  // namespace dobj::examples
