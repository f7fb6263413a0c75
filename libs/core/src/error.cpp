#include "dobj/core/error.hpp"

#include <array>
#include <utility>

namespace dobj {
namespace {
constexpr std::array<std::pair<ErrorCode, std::string_view>, 10> kNames{{
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kNoSuchClass, "no_such_class"},
    {ErrorCode::kNoSuchMethod, "no_such_method"},
    {ErrorCode::kHandlerError, "handler_error"},
    {ErrorCode::kStorageError, "storage_error"},
    {ErrorCode::kOverloaded, "overloaded"},
    {ErrorCode::kMoved, "moved"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kTooLarge, "too_large"},
    {ErrorCode::kUnknownOutcome, "unknown_outcome"},
}};
}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "unknown";
}

std::optional<ErrorCode> error_code_from_string(std::string_view text) {
  for (const auto& [c, name] : kNames) {
    if (name == text) return c;
  }
  return std::nullopt;
}

bool is_retryable(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOverloaded:
    case ErrorCode::kMoved:
    case ErrorCode::kTimeout:
    case ErrorCode::kStorageError:
      return true;
    default:
      return false;
  }
}

}  // namespace dobj
