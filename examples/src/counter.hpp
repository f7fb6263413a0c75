#pragma once

#include <cstdint>
#include <string>

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// inc's argument: {"by": n}, n a 64-bit integer, 1 when absent (or no argument at all).
struct IncArgs {
  std::int64_t by = 1;
};
void from_json(const Value& json, IncArgs& args);

// add_from's argument: {"from": "<id of another Counter>"}.
struct AddFromArgs {
  std::string from;
};
void from_json(const Value& json, AddFromArgs& args);

// A durable integer: inc {"by": n} → new value, get → value, reset → null, add_from
// {"from": id} → new value, having added Counter.<id>'s value (an awaited call).
class Counter : public Object {
 public:
  std::int64_t inc(Context& ctx, const IncArgs& args);
  std::int64_t get(Context& ctx);
  void reset(Context& ctx);
  void add_from(Context& ctx, const AddFromArgs& args);
  // add_from's continuation: the other counter's value (or its error, passed on).
  std::int64_t added(Context& ctx, const CallResult& other);
};

}  // namespace dobj::examples
