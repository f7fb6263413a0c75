#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "dobj/core/value.hpp"
#include "dobj/store/sql_result.hpp"

namespace dobj::store {

// {"a","b"} with quotes and backslashes escaped; nullopt elements become NULL.
std::string text_array_literal(const std::vector<std::string>& items);
std::string text_array_literal(const std::vector<std::optional<std::string>>& items);
// A composite (row) value's text form: ("a","b",) with each field quoted as an array element is;
// nullopt fields are empty (NULL). Nests: a field may be an array literal, and a list of record
// literals is an array of that composite type.
std::string record_literal(const std::vector<std::optional<std::string>>& fields);
// A duration as make_interval(secs => …) takes it.
inline double seconds(std::chrono::milliseconds ms) {
  return static_cast<double>(ms.count()) / 1000.0;
}
// bytea's text input form: \x followed by hex digits.
std::string bytea_hex(const std::string& bytes);
// Parameters as text (nullopt = NULL): JSON kinds in their JSON spelling, strings as they are,
// binary as bytea text.
std::vector<std::optional<std::string>> sql_param_texts(const std::vector<Value>& params);
SqlResult to_sql_result(const pqxx::result& result);

}  // namespace dobj::store
