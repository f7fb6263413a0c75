#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dobj/core/value.hpp"

namespace dobj {

// Rows of a SQL statement, typed by column: integers, floats (also numeric), booleans, text,
// json/jsonb as parsed values, bytea as binary, NULL as null; anything else as its text form.
struct SqlResult {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  std::int64_t affected_rows = 0;

  // [{"column": value, ...}, ...]
  Value to_objects() const;
};

// A SQL statement of an object failed (syntax, constraint, ...). The handler may catch it, but
// its turn fails anyway: the statement's transaction state cannot be trusted afterwards.
class SqlError : public std::runtime_error {
 public:
  SqlError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

}  // namespace dobj
