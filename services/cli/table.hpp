#pragma once

#include <pqxx/pqxx>

#include <string>
#include <vector>

namespace dobj::cli {

// A field as a table cell: "-" for NULL.
inline std::string text(const pqxx::field& f) {
  return f.is_null() ? "-" : f.c_str();
}

// Prints rows as an aligned text table with a header line.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace dobj::cli
