#pragma once

#include <string>
#include <string_view>

namespace dobj {

// Addressing rules of DESIGN.md §2.
constexpr std::size_t kMaxClassNameLength = 64;
constexpr std::size_t kMaxObjectIdLength = 200;
constexpr std::size_t kMaxMethodNameLength = 64;
constexpr std::size_t kMaxTopicLength = 64;

bool is_valid_class_name(std::string_view name);   // [A-Za-z][A-Za-z0-9_]{0,63}
bool is_valid_object_id(std::string_view id);      // 1-200 bytes of [A-Za-z0-9_=:@+-]
bool is_valid_method_name(std::string_view name);  // [A-Za-z_][A-Za-z0-9_]{0,63}
bool is_system_method(std::string_view name);      // "$" followed by a valid method name
bool is_valid_topic(std::string_view topic);       // 1-64 bytes of [A-Za-z0-9_-]

// Lower-case hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view bytes);
// hex(SHA-256(class + "\0" + name)), as Durable Objects' idFromName.
std::string object_id_from_name(std::string_view class_name, std::string_view name);
// The object's PostgreSQL schema: "o_" + 32 hex digits of SHA-256(class + "\0" + id).
std::string object_schema_name(std::string_view class_name, std::string_view object_id);

}  // namespace dobj
