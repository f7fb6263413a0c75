#pragma once

#include "dobj/examples/register_examples.hpp"
#include "dobj/runtime/class_registry.hpp"

namespace dobj::fuzz {

// The example classes, registered once for the whole fuzzing run.
inline const ClassRegistry& example_registry() {
  static const ClassRegistry registry = [] {
    ClassRegistry r;
    examples::register_examples(r);
    return r;
  }();
  return registry;
}

}  // namespace dobj::fuzz
