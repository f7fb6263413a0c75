#include "statement_guard.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace dobj {
namespace {

// Statements that change the session or the transaction rather than data.
constexpr std::array<std::string_view, 17> kRefusedFirstWords = {
    "set",     "reset",    "do",       "begin",     "start",     "commit",
    "end",     "rollback", "abort",    "savepoint", "release",   "prepare",
    "discard", "listen",   "unlisten", "load",      "checkpoint"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Skips whitespace, -- comments and (nested) /* */ comments.
std::size_t skip_blank(std::string_view q, std::size_t i) {
  while (i < q.size()) {
    if (std::isspace(static_cast<unsigned char>(q[i]))) {
      ++i;
    } else if (q.substr(i, 2) == "--") {
      auto end = q.find('\n', i);
      i = end == std::string_view::npos ? q.size() : end + 1;
    } else if (q.substr(i, 2) == "/*") {
      int depth = 0;
      do {
        if (q.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (q.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (depth > 0 && i < q.size());
    } else {
      break;
    }
  }
  return i;
}

}  // namespace

std::optional<std::string> refused_statement(std::string_view query) {
  auto start = skip_blank(query, 0);
  auto end = start;
  while (end < query.size() &&
         (std::isalpha(static_cast<unsigned char>(query[end])) || query[end] == '_')) {
    ++end;
  }
  auto first = lower(query.substr(start, end - start));
  if (std::find(kRefusedFirstWords.begin(), kRefusedFirstWords.end(), first) !=
      kRefusedFirstWords.end()) {
    return "handler SQL may not run " + first + " statements (the runtime owns the session)";
  }
  if (lower(query).find("set_config") != std::string::npos) {
    return "handler SQL may not call set_config (the runtime owns the session)";
  }
  return std::nullopt;
}

}  // namespace dobj
