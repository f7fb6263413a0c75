#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dobj/core/value.hpp"

namespace dobj::protocol {

enum class ContentType { kJson, kMsgpack };

// No header or application/json → JSON; application/msgpack → msgpack; anything else throws
// Error(kBadRequest).
ContentType content_type_from_header(std::optional<std::string_view> header);
const char* content_type_header(ContentType type);

// An empty body is null (no argument). Throws Error(kBadRequest) on undecodable bytes.
Value decode_body(ContentType type, std::string_view body);
std::string encode_body(ContentType type, const Value& value);

}  // namespace dobj::protocol
