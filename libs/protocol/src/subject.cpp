#include "dobj/protocol/subject.hpp"

#include <charconv>
#include <vector>

#include "dobj/core/error.hpp"
#include "dobj/core/names.hpp"

namespace dobj::protocol {
namespace {

std::vector<std::string_view> split_tokens(std::string_view s) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    tokens.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return tokens;
}

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kBadRequest, what);
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) {
    if (!out.empty()) out.push_back('.');
    out.append(part);
  }
  return out;
}

}  // namespace

InboundSubject parse_inbound_subject(std::string_view subject) {
  if (!subject.starts_with(kInboundPrefix)) bad("subject is not a dobj.in subject");
  auto tokens = split_tokens(subject.substr(kInboundPrefix.size()));
  if (tokens.size() != 4) {
    bad("subject must be obj.<class>.<id>.<method>, got " + std::to_string(tokens.size() - 1) +
        " tokens after the partition");
  }
  InboundSubject out;
  auto p = tokens[0];
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), out.partition);
  if (ec != std::errc() || ptr != p.data() + p.size() || out.partition < 0) {
    bad("bad partition token '" + std::string(p) + "'");
  }
  if (!is_valid_class_name(tokens[1])) {
    bad("invalid class name '" + std::string(tokens[1]) +
        "': must match [A-Za-z][A-Za-z0-9_]{0,63}");
  }
  if (!is_valid_object_id(tokens[2])) {
    bad("invalid object id '" + std::string(tokens[2]) +
        "': must be 1-200 bytes of [A-Za-z0-9_=:@+-]");
  }
  if (!is_valid_method_name(tokens[3]) && !is_system_method(tokens[3])) {
    bad("invalid method name '" + std::string(tokens[3]) +
        "': must match [A-Za-z_][A-Za-z0-9_]{0,63}");
  }
  out.class_name = tokens[1];
  out.object_id = tokens[2];
  out.method = tokens[3];
  return out;
}

std::string client_subject(std::string_view class_name, std::string_view object_id,
                           std::string_view method) {
  return join({"obj", class_name, object_id, method});
}

std::string inbound_subject(int partition, std::string_view class_name, std::string_view object_id,
                            std::string_view method) {
  return join({"dobj.in", std::to_string(partition), class_name, object_id, method});
}

std::string partition_subscription(int partition) {
  return join({"dobj.in", std::to_string(partition), ">"});
}

std::string event_subject(std::string_view class_name, std::string_view object_id,
                          std::string_view topic) {
  return join({"evt", class_name, object_id, topic});
}

}  // namespace dobj::protocol
