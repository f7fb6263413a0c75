#include "dobj/protocol/trace_context.hpp"

#include <fmt/format.h>

#include <random>

namespace dobj::protocol {
namespace {

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

// Random hex ids: per thread, so that shards never contend for a generator.
std::string random_hex(int digits) {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  std::string out;
  while (static_cast<int>(out.size()) < digits) out += fmt::format("{:016x}", gen());
  out.resize(static_cast<std::size_t>(digits));
  return all_zero(out) ? random_hex(digits) : out;
}

}  // namespace

std::optional<TraceContext> TraceContext::parse(std::string_view h) {
  // 2 + 1 + 32 + 1 + 16 + 1 + 2
  if (h.size() != 55 || h.substr(0, 3) != "00-" || h[35] != '-' || h[52] != '-') {
    return std::nullopt;
  }
  TraceContext t{std::string(h.substr(3, 32)), std::string(h.substr(36, 16)),
                 std::string(h.substr(53, 2))};
  if (!is_hex(t.trace_id) || !is_hex(t.parent_id) || !is_hex(t.flags) || all_zero(t.trace_id) ||
      all_zero(t.parent_id)) {
    return std::nullopt;
  }
  return t;
}

TraceContext TraceContext::generate() {
  return TraceContext{random_hex(32), random_hex(16), "01"};
}

TraceContext TraceContext::child() const {
  return TraceContext{trace_id, random_hex(16), flags};
}

std::string TraceContext::header() const {
  return "00-" + trace_id + "-" + parent_id + "-" + flags;
}

}  // namespace dobj::protocol
