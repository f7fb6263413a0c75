#include "dobj/core/clock.hpp"

namespace dobj {

Clock& Clock::system() {
  static SystemClock clock;
  return clock;
}

}  // namespace dobj
