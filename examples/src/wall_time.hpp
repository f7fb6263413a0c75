#pragma once

#include <chrono>
#include <cstdint>

#include "dobj/runtime/context.hpp"

namespace dobj::examples {

// The turn's wall time in ms since the Unix epoch (ctx.now(): a test may set it).
inline std::int64_t now_ms(const Context& ctx) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now().time_since_epoch())
      .count();
}

}  // namespace dobj::examples
