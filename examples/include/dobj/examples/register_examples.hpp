#pragma once

#include "dobj/runtime/class_registry.hpp"

namespace dobj::examples {

// Counter and ChatRoom, with the contracts of DESIGN.md §9 (schemas/examples.md).
void register_examples(ClassRegistry& registry);

}  // namespace dobj::examples

namespace dobj::examples {

// Scratch, a class for tests and benchmarks (schemas/examples.md); not hosted by default.
void register_test_classes(ClassRegistry& registry);

}  // namespace dobj::examples
