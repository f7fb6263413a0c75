#pragma once

namespace dobj {

class Context;

// Base of every object class. An instance lives on one executor shard and handles one message at
// a time, so its members need no locks. Member state must be derivable from storage in
// on_activate: after a handler throws, the runtime discards the instance and activates a fresh
// one over the storage as it was before that turn (that is how in-memory changes are undone).
class Object {
 public:
  virtual ~Object() = default;
  virtual void on_activate(Context&) {}
  // The instance leaves memory in good order: idle, its partition handed over, or the worker
  // stopping (not after a throwing handler: that instance is only discarded). There is no turn
  // here, so no storage: for in-memory resources and bookkeeping. An exception is logged.
  virtual void on_deactivate() {}
};

}  // namespace dobj
