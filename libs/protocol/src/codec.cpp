#include "dobj/protocol/codec.hpp"

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"
#include "dobj/protocol/headers.hpp"

namespace dobj::protocol {

ContentType content_type_from_header(std::optional<std::string_view> header) {
  if (!header || header->empty() || *header == kJsonContentType) return ContentType::kJson;
  if (*header == kMsgpackContentType) return ContentType::kMsgpack;
  throw Error(ErrorCode::kBadRequest, "unsupported Content-Type '" + std::string(*header) +
                                          "': use application/json or application/msgpack");
}

const char* content_type_header(ContentType type) {
  return type == ContentType::kMsgpack ? kMsgpackContentType : kJsonContentType;
}

Value decode_body(ContentType type, std::string_view body) {
  if (body.empty()) return nullptr;
  if (type == ContentType::kMsgpack) return decode_msgpack(body);
  try {
    return Value::parse(body.begin(), body.end());
  } catch (const Value::parse_error& e) {
    throw Error(ErrorCode::kBadRequest, std::string("malformed JSON body: ") + e.what());
  }
}

std::string encode_body(ContentType type, const Value& value) {
  if (type == ContentType::kMsgpack) return encode_msgpack(value);
  // Replacing invalid UTF-8 keeps a handler's odd string from turning a reply into an exception.
  return value.dump(-1, ' ', false, Value::error_handler_t::replace);
}

}  // namespace dobj::protocol
