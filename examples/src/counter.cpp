#include "counter.hpp"

#include <limits>

#include "arguments.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kValueKey = "value";
constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
constexpr auto kMax = std::numeric_limits<std::int64_t>::max();

std::int64_t current(Context& ctx) {
  auto v = ctx.storage().get(kValueKey);
  return v ? v->get<std::int64_t>() : 0;
}
}  // namespace

Value Counter::inc(Context& ctx, const Value& arg) {
  std::int64_t by = optional_int(arg, "by", 1, kMin, kMax);
  std::int64_t value = current(ctx);
  std::int64_t next = 0;
  if (__builtin_add_overflow(value, by, &next)) {
    throw Error(ErrorCode::kBadRequest, "counter would overflow a 64-bit integer");
  }
  ctx.storage().put(kValueKey, next);
  return next;
}

Value Counter::get(Context& ctx, const Value&) {
  return current(ctx);
}

Value Counter::reset(Context& ctx, const Value&) {
  ctx.storage().del(kValueKey);
  return nullptr;
}

}  // namespace dobj::examples
