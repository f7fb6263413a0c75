#include "dobj/core/redact.hpp"

namespace dobj {
namespace {

constexpr std::string_view kHidden = "***";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// `user:password@` between "://" and the end of the authority.
std::string redact_userinfo(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  auto authority = scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  auto at = url.rfind('@', authority_end);
  if (at == std::string_view::npos || at < authority) return std::string(url);
  auto colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(url);  // user only
  std::string out(url.substr(0, colon + 1));
  out += kHidden;
  out += url.substr(at);
  return out;
}

// Every `password=<value>` (keyword strings and URI query parameters), value quoted or not.
std::string redact_password_params(std::string s) {
  constexpr std::string_view kKey = "password=";
  std::size_t from = 0;
  while ((from = s.find(kKey, from)) != std::string::npos) {
    bool starts_word =
        from == 0 || is_space(s[from - 1]) || s[from - 1] == '?' || s[from - 1] == '&';
    auto value = from + kKey.size();
    if (!starts_word) {
      from = value;
      continue;
    }
    auto end = value;
    if (end < s.size() && s[end] == '\'') {
      ++end;
      while (end < s.size() && s[end] != '\'') end += s[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, s.size());
    } else {
      while (end < s.size() && !is_space(s[end]) && s[end] != '&' && s[end] != '#') ++end;
    }
    s.replace(value, end - value, kHidden);
    from = value + kHidden.size();
  }
  return s;
}

}  // namespace

std::string redact(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    auto part = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    out += redact_userinfo(part);
    if (comma == std::string_view::npos) break;
    out.push_back(',');
    start = comma + 1;
  }
  return redact_password_params(std::move(out));
}

}  // namespace dobj
