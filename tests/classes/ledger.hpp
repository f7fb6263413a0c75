#pragma once

#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// The chaos suite's witness (hosted by dobj-test-worker only): a counter that also records which
// operation produced each value, so that a checker can tell a lost increment from a doubled one.
//   add {"op": id}      n += 1, "op:<id>" = n; an op seen before also counts in "dups"
//   state               {"n", "dups"}
//   arm {"at_ms": t}    sets the alarm; the alarm handler records "fired:<t>" = retry_count
class Ledger : public Object {
 public:
  Value add(Context& ctx, const Value& arg);
  Value state(Context& ctx, const Value& arg);
  Value arm(Context& ctx, const Value& arg);
  Value alarm(Context& ctx, const AlarmInfo& info);
};

void register_ledger(ClassRegistry& registry);

}  // namespace dobj::examples
