#include "guestbook.hpp"

#include <chrono>

namespace guestbook {
namespace {
constexpr const char* kCountKey = "count";
constexpr const char* kEntryPrefix = "entry:";

// Keys order by their bytes: zero-padded numbers list in signing order.
std::string entry_key(std::int64_t number) {
  auto digits = std::to_string(number);
  return kEntryPrefix + std::string(12 - digits.size(), '0') + digits;
}
}  // namespace

std::int64_t Guestbook::sign(dobj::Context& ctx, const Signature& signature) {
  if (signature.name.empty() || signature.name.size() > kMaxNameBytes ||
      signature.message.size() > kMaxMessageBytes) {
    // Bad input is the caller's error: bad_request, and nothing of this turn is kept.
    throw dobj::Error(dobj::ErrorCode::kBadRequest, "name: 1-100 bytes, message: 0-1000 bytes");
  }
  auto number = ctx.storage().get_or<std::int64_t>(kCountKey, 0) + 1;
  // ctx.now(), not the system clock: the unit test moves it.
  auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now().time_since_epoch()).count();
  Entry entry{number, signature.name, signature.message, now_ms};
  ctx.storage().put(kCountKey, number);
  ctx.storage().put(entry_key(number), entry);
  ctx.publish("signed", entry);  // leaves after the commit, like the reply
  return number;
}

std::vector<Entry> Guestbook::entries(dobj::Context& ctx) {
  std::vector<Entry> out;
  for (const auto& [key, value] : ctx.storage().list({.prefix = kEntryPrefix})) {
    out.push_back(value.get<Entry>());
  }
  return out;
}

void register_classes(dobj::ClassRegistry& registry) {
  registry.add<Guestbook>("Guestbook")
      .method("sign", &Guestbook::sign)
      .method("entries", &Guestbook::entries);
}

}  // namespace guestbook
