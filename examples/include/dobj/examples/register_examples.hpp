#pragma once

#include "dobj/runtime/class_registry.hpp"

namespace dobj::examples {

// Counter and ChatRoom, with the contracts of DESIGN.md §9 (schemas/examples.md).
void register_examples(ClassRegistry& registry);

}  // namespace dobj::examples
