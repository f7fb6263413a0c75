#include "dobj/protocol/trace_context.hpp"

#include <random>

namespace dobj::protocol {
namespace {

constexpr std::size_t kHeaderSize = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

// Random hex ids: per thread, so that shards never contend for a generator. Every request
// without a traceparent gets one, so this is on the hot path: 16 digits per draw, no formatting
// (fmt here cost 4% of the worker's CPU under a read load).
std::string random_hex(std::size_t digits) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  constexpr int kDigitsPerDraw = 16;
  constexpr int kBitsPerDigit = 4;
  thread_local std::mt19937_64 gen{std::random_device{}()};
  std::string out(digits, '0');
  for (std::size_t i = 0; i < digits;) {
    auto bits = gen();
    for (int d = 0; d < kDigitsPerDraw && i < digits; ++d, ++i) {
      out[i] = kDigits[bits & 0xf];
      bits >>= kBitsPerDigit;
    }
  }
  return all_zero(out) ? random_hex(digits) : out;
}

}  // namespace

std::optional<TraceContext> TraceContext::parse(std::string_view h) {
  if (h.size() != kHeaderSize || h.substr(0, 3) != "00-" || h[35] != '-' || h[52] != '-') {
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
  std::string h;
  h.reserve(kHeaderSize);
  h.append("00-").append(trace_id).append("-").append(parent_id).append("-").append(flags);
  return h;
}

}  // namespace dobj::protocol
