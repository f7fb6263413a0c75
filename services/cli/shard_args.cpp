#include "shard_args.hpp"

#include <charconv>
#include <string_view>

#include "dobj/core/error.hpp"

namespace dobj::cli {

std::pair<int, int> parse_partition_range(const std::string& text) {
  int first = -1, last = -1;
  auto dash = text.find('-');
  auto number = [](std::string_view part, int& out) {
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc() && end == part.data() + part.size() && !part.empty();
  };
  std::string_view all(text);
  if (dash == std::string::npos || !number(all.substr(0, dash), first) ||
      !number(all.substr(dash + 1), last)) {
    throw Error(ErrorCode::kBadRequest,
                "a partition range is FIRST-LAST (e.g. 0-127), not '" + text + "'");
  }
  return {first, last};
}

std::map<std::string, std::string> parse_shard_urls(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorCode::kBadRequest, "--shard-admin-url takes NAME=URL, not '" + item + "'");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

}  // namespace dobj::cli
