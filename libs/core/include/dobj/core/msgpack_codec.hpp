#pragma once

#include <string>
#include <string_view>

#include "dobj/core/value.hpp"

namespace dobj {

// msgpack-c is the one msgpack implementation in dobj: wire bodies and stored values both use it.
std::string encode_msgpack(const Value& value);
// Throws Error(kBadRequest) on truncated, trailing or otherwise undecodable bytes.
Value decode_msgpack(std::string_view bytes);

}  // namespace dobj
