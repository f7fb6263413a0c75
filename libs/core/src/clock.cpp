#include "dobj/core/clock.hpp"

namespace dobj {

Clock& Clock::system() {
  static SystemClock clock;
  return clock;
}

const WallClock& WallClock::system() {
  static const SystemWallClock clock;
  return clock;
}

}  // namespace dobj
