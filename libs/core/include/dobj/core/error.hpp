#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dobj {

// The protocol's error codes (DESIGN.md §3). Expected failures travel as these, never as strings
// compared at call sites.
enum class ErrorCode {
  kBadRequest,
  kNoSuchClass,
  kNoSuchMethod,
  kHandlerError,
  kStorageError,
  kOverloaded,
  kMoved,
  kTimeout,
  kTooLarge,
  // The commit's result cannot be known (the connection broke during COMMIT): the request may or
  // may not have been applied. Not retryable, except with an idempotency key.
  kUnknownOutcome,
};

// Wire spelling, e.g. "bad_request".
std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view text);
// Whether a client may retry the same request (overloaded, moved, timeout, storage_error).
bool is_retryable(ErrorCode code);

// A typed, expected failure. Handlers may throw it to choose the reply's code; anything else a
// handler throws becomes handler_error.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }
  bool retryable() const { return is_retryable(code_); }

 private:
  ErrorCode code_;
};

}  // namespace dobj
