#pragma once

#include <cstdint>
#include <string>

#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"

namespace dobj::examples {

// Argument checks shared by the examples: bad input is bad_request, never handler_error.
inline const Value& require_object(const Value& arg, const char* method) {
  if (!arg.is_object()) {
    throw Error(ErrorCode::kBadRequest, std::string(method) + " takes a JSON object argument");
  }
  return arg;
}

inline std::string require_string(const Value& arg, const char* field, std::size_t max_bytes) {
  auto it = arg.find(field);
  if (it == arg.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw Error(ErrorCode::kBadRequest, std::string("'") + field + "' must be a non-empty string");
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    throw Error(ErrorCode::kBadRequest, std::string("'") + field + "' is longer than " +
                                            std::to_string(max_bytes) + " bytes");
  }
  return s;
}

// An optional integer field in [min, max]; fallback when absent.
inline std::int64_t optional_int(const Value& arg, const char* field, std::int64_t fallback,
                                 std::int64_t min, std::int64_t max) {
  if (arg.is_null()) return fallback;
  require_object(arg, "this method");
  auto it = arg.find(field);
  if (it == arg.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) {
    throw Error(ErrorCode::kBadRequest, std::string("'") + field + "' must be an integer");
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    throw Error(ErrorCode::kBadRequest, std::string("'") + field + "' is out of range");
  }
  auto v = it->get<std::int64_t>();
  if (v < min || v > max) {
    throw Error(ErrorCode::kBadRequest, std::string("'") + field + "' must be between " +
                                            std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

}  // namespace dobj::examples
