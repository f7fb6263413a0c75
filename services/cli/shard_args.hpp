#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dobj::cli {

// "12-40" → {12, 40}; throws Error(kBadRequest) for anything else.
std::pair<int, int> parse_partition_range(const std::string& text);
// ["s1=URL", ...] → {s1: URL}; throws Error(kBadRequest) for an item without NAME=.
std::map<std::string, std::string> parse_shard_urls(const std::vector<std::string>& items);

}  // namespace dobj::cli
