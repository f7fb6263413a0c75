#pragma once

#include <string>
#include <vector>

namespace dobj::cli {

// Prints rows as an aligned text table with a header line.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace dobj::cli
