#pragma once

#include <string>
#include <vector>

#include "dobj/core/value.hpp"
#include "dobj/store/sql_result.hpp"

namespace dobj {

// ctx.sql(): statements in the object's own PostgreSQL schema (its search_path), in the same
// transaction as the turn's KV writes: they commit together or not at all, and a throwing turn's
// statements are rolled back. Parameters are $1, $2, ... (values: null, bool, numbers, strings,
// binary as bytea, arrays and objects as JSON). A failing statement throws SqlError and fails its
// turn even if the handler catches it.
class Sql {
 public:
  virtual ~Sql() = default;
  virtual SqlResult exec_values(const std::string& query, const std::vector<Value>& params) = 0;

  template <typename... Args>
  SqlResult exec(const std::string& query, const Args&... args) {
    return exec_values(query, std::vector<Value>{Value(args)...});
  }
};

}  // namespace dobj
