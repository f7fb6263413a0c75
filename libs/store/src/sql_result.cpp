#include "dobj/store/sql_result.hpp"

namespace dobj {

Value SqlResult::to_objects() const {
  Value out = Value::array();
  for (const auto& row : rows) {
    Value obj = Value::object();
    for (std::size_t c = 0; c < columns.size() && c < row.size(); ++c) obj[columns[c]] = row[c];
    out.push_back(std::move(obj));
  }
  return out;
}

}  // namespace dobj
