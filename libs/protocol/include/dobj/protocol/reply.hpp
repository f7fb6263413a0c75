#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"
#include "dobj/protocol/codec.hpp"

namespace dobj::protocol {

// A reply as it goes on the wire: Dobj-Status header, Content-Type header, body.
struct Reply {
  bool ok = true;
  ContentType content_type = ContentType::kJson;
  std::string body;
  // error_reply's code (metrics label); absent for ok replies and for replayed stored ones.
  std::optional<ErrorCode> error_code{};
  // The turn's W3C traceparent, sent as a header (empty: none).
  std::string traceparent{};
};

Reply ok_reply(ContentType type, const Value& value);
// Body {"error": {"code", "message", "retryable"}}.
Reply error_reply(ContentType type, const Error& error);
// The same reply in another content type (a stored reply replayed to a retry that asked for
// msgpack where the first attempt asked for JSON, or the other way round).
Reply reencoded(Reply reply, ContentType type);

// Client side: the reply's value, or throws the Error it carries. A reply without a Dobj-Status
// header is not from dobj and throws Error(kBadRequest).
Value parse_reply(std::optional<std::string_view> status, std::optional<std::string_view> type,
                  std::string_view body);

}  // namespace dobj::protocol
