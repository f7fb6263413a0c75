#pragma once

#include "dobj/runtime/class_registry.hpp"

namespace dobj::examples {

// Scratch (raw storage, SQL and alarms from the wire) and Ledger (the chaos suite's bank): classes
// for tests and benchmarks only (schemas/examples.md). They run what a request says, so they are
// never in dobj-worker: only in dobj-test-worker (tests/worker).
void register_test_classes(ClassRegistry& registry);

}  // namespace dobj::examples
