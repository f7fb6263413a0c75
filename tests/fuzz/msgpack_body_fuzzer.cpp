// libFuzzer: the msgpack decoder. Anything it accepts encodes and decodes back to the same value;
// anything else is a dobj::Error (bad_request), never a crash, a hang or a huge allocation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  dobj::Value value;
  try {
    value = dobj::decode_msgpack(bytes);
  } catch (const dobj::Error&) {
    return 0;
  }
  if (dobj::decode_msgpack(dobj::encode_msgpack(value)) != value) std::abort();
  return 0;
}
