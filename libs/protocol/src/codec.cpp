#include "dobj/protocol/codec.hpp"

#include "dobj/protocol/limits.hpp"

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"
#include "dobj/protocol/headers.hpp"

namespace dobj::protocol {
namespace {

bool contains_binary(const Value& v) {
  if (v.is_binary()) return true;
  if (v.is_structured()) {
    for (const auto& item : v) {
      if (contains_binary(item)) return true;
    }
  }
  return false;
}

std::string base64(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = bytes[i] << 16;
    if (i + 1 < bytes.size()) n |= bytes[i + 1] << 8;
    if (i + 2 < bytes.size()) n |= bytes[i + 2];
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

// JSON has no binary strings: they travel as {"$bin": base64}, as in dobj_admin.kv().
Value with_binary_as_base64(const Value& v) {
  if (v.is_binary()) return {{"$bin", base64(v.get_binary())}};
  if (v.is_array()) {
    Value out = Value::array();
    for (const auto& item : v) out.push_back(with_binary_as_base64(item));
    return out;
  }
  if (v.is_object()) {
    Value out = Value::object();
    for (const auto& [key, item] : v.items()) out[key] = with_binary_as_base64(item);
    return out;
  }
  return v;
}

}  // namespace

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
    return Value::parse(body.begin(), body.end(), [](int depth, Value::parse_event_t, Value&) {
      if (depth >= kMaxJsonDepth) {  // the outermost value is depth 0
        throw Error(ErrorCode::kBadRequest,
                    "JSON body nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      }
      return true;
    });
  } catch (const Value::exception& e) {
    // parse_error, and out_of_range for a number beyond a double (1e999): found by fuzzing.
    throw Error(ErrorCode::kBadRequest, std::string("malformed JSON body: ") + e.what());
  }
}

std::string encode_body(ContentType type, const Value& value) {
  if (type == ContentType::kMsgpack) return encode_msgpack(value);
  // Replacing invalid UTF-8 keeps a handler's odd string from turning a reply into an exception.
  if (contains_binary(value)) {
    return with_binary_as_base64(value).dump(-1, ' ', false, Value::error_handler_t::replace);
  }
  return value.dump(-1, ' ', false, Value::error_handler_t::replace);
}

}  // namespace dobj::protocol
