#include "dobj/core/names.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>

namespace dobj {
namespace {

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word(char c) {
  return is_alpha(c) || is_digit(c) || c == '_';
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

std::string joined_key(std::string_view class_name, std::string_view rest) {
  std::string key;
  key.reserve(class_name.size() + 1 + rest.size());
  key.append(class_name).push_back('\0');
  key.append(rest);
  return key;
}

}  // namespace

bool is_valid_class_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxClassNameLength && is_alpha(name[0]) &&
         all_of(name, is_word);
}

bool is_valid_object_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxObjectIdLength && all_of(id, [](char c) {
    return is_word(c) || c == '=' || c == ':' || c == '@' || c == '+' || c == '-';
  });
}

bool is_valid_method_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxMethodNameLength &&
         (is_alpha(name[0]) || name[0] == '_') && all_of(name, is_word);
}

bool is_system_method(std::string_view name) {
  return name.size() > 1 && name[0] == '$' && is_valid_method_name(name.substr(1));
}

bool is_valid_topic(std::string_view topic) {
  return !topic.empty() && topic.size() <= kMaxTopicLength &&
         all_of(topic, [](char c) { return is_word(c) || c == '-'; });
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    std::abort();  // OpenSSL cannot fail to hash memory; if it does, nothing else is trustworthy.
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string object_id_from_name(std::string_view class_name, std::string_view name) {
  return sha256_hex(joined_key(class_name, name));
}

std::string object_schema_name(std::string_view class_name, std::string_view object_id) {
  return "o_" + sha256_hex(joined_key(class_name, object_id)).substr(0, 32);
}

}  // namespace dobj
