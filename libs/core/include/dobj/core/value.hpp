#pragma once

#include <nlohmann/json.hpp>

namespace dobj {

// The dynamic value handlers receive and return. JSON's data model plus binary strings, which
// msgpack carries natively (bin family) and JSON cannot.
using Value = nlohmann::json;

}  // namespace dobj
