// libFuzzer: JSON request bodies as the worker decodes them (depth limit, UTF-8). Anything
// accepted survives both encodings; anything else is a dobj::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dobj/core/error.hpp"
#include "dobj/protocol/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using dobj::protocol::ContentType;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  dobj::Value value;
  try {
    value = dobj::protocol::decode_body(ContentType::kJson, body);
  } catch (const dobj::Error&) {
    return 0;
  }
  for (auto type : {ContentType::kJson, ContentType::kMsgpack}) {
    auto again = dobj::protocol::decode_body(type, dobj::protocol::encode_body(type, value));
    // NaN-free by JSON's grammar, so equality is exact.
    if (again != value) std::abort();
  }
  return 0;
}
