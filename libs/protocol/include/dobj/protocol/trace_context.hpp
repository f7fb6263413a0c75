#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dobj::protocol {

constexpr const char* kTraceparentHeader = "traceparent";

// W3C Trace Context (traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>). A
// request's trace goes on in what it causes: the turn is a span of its own (a new parent id under
// the same trace id), named in its reply, its events and its log lines.
struct TraceContext {
  std::string trace_id;   // 32 lower-case hex digits, not all zero
  std::string parent_id;  // 16 lower-case hex digits, not all zero
  std::string flags = "01";

  // nullopt for anything but a well-formed version-00 header (it is then ignored, not an error:
  // tracing must never fail a request).
  static std::optional<TraceContext> parse(std::string_view header);
  // A new trace (a request that came without one).
  static TraceContext generate();
  // The span of work this context causes: same trace and flags, a new parent id.
  TraceContext child() const;
  std::string header() const;
};

}  // namespace dobj::protocol
