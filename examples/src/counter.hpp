#pragma once

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// A durable integer: inc {"by": n} → new value, get → value, reset → null.
class Counter : public Object {
 public:
  Value inc(Context& ctx, const Value& arg);
  Value get(Context& ctx, const Value& arg);
  Value reset(Context& ctx, const Value& arg);
};

}  // namespace dobj::examples
