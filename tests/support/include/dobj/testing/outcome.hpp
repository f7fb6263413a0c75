#pragma once

#include "dobj/core/error.hpp"

namespace dobj::testing {

// What a reply promises about its request (schemas/protocol.md), as the load generators that
// check every outcome read it: applied (an answer), refused (not applied: safe to count as never
// run), unknown (applied or not), or a bug (an error no fault explains).
enum class Outcome { kApplied, kRefused, kUnknown, kBug };

// The promise of an error reply.
inline Outcome classify(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMoved:
    case ErrorCode::kOverloaded:
    case ErrorCode::kStorageError:
    case ErrorCode::kTimeout:
      return Outcome::kRefused;
    case ErrorCode::kUnknownOutcome:
      return Outcome::kUnknown;
    default:
      return Outcome::kBug;
  }
}

}  // namespace dobj::testing
