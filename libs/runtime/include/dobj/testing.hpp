#pragma once

// Unit tests of object classes without servers: dobj::ObjectHarness runs one object of a
// registered class in memory, turn by turn, on a manual clock.
#include "dobj/runtime/object_harness.hpp"
