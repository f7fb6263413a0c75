#include "dobj/protocol/reply.hpp"

#include "dobj/protocol/headers.hpp"

namespace dobj::protocol {

Reply ok_reply(ContentType type, const Value& value) {
  return Reply{true, type, encode_body(type, value)};
}

Reply error_reply(ContentType type, const Error& error) {
  Value body = {{"error",
                 {{"code", std::string(to_string(error.code()))},
                  {"message", error.what()},
                  {"retryable", error.retryable()}}}};
  return Reply{false, type, encode_body(type, body), error.code()};
}

Reply reencoded(Reply reply, ContentType type) {
  if (reply.content_type == type) return reply;
  reply.body = encode_body(type, decode_body(reply.content_type, reply.body));
  reply.content_type = type;
  return reply;
}

Value parse_reply(std::optional<std::string_view> status, std::optional<std::string_view> type,
                  std::string_view body) {
  if (!status) throw Error(ErrorCode::kBadRequest, "reply has no Dobj-Status header");
  Value value = decode_body(content_type_from_header(type), body);
  if (*status == kStatusOk) return value;
  if (!value.is_object() || !value.contains("error") || !value["error"].is_object()) {
    throw Error(ErrorCode::kHandlerError,
                "malformed error reply: " + encode_body(ContentType::kJson, value));
  }
  const Value& err = value["error"];
  auto code = error_code_from_string(err.value("code", std::string()));
  throw Error(code.value_or(ErrorCode::kHandlerError), err.value("message", std::string("?")));
}

}  // namespace dobj::protocol
