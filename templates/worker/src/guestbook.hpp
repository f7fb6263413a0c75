#pragma once

#include <dobj/dobj.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace guestbook {

// sign's argument and one entry of the book, converted from and to JSON by nlohmann.
struct Signature {
  std::string name;
  std::string message;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Signature, name, message)

struct Entry {
  std::int64_t number = 0;
  std::string name;
  std::string message;
  std::int64_t signed_at_ms = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Entry, number, name, message, signed_at_ms)

// A guest book: sign {"name", "message"} → the entry's number, and an event "signed";
// entries → every entry, oldest first. Each book is one object: obj.Guestbook.<id>.<method>.
class Guestbook : public dobj::Object {
 public:
  static constexpr std::size_t kMaxNameBytes = 100;
  static constexpr std::size_t kMaxMessageBytes = 1000;

  std::int64_t sign(dobj::Context& ctx, const Signature& signature);
  std::vector<Entry> entries(dobj::Context& ctx);
};

// Adds the classes of this project to a worker's registry.
void register_classes(dobj::ClassRegistry& registry);

}  // namespace guestbook
