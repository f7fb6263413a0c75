#include "counter.hpp"

#include <limits>

#include "arguments.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kValueKey = "value";
constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
}  // namespace

void from_json(const Value& json, IncArgs& args) {
  args.by = optional_int(json, "by", 1, kMin, kMax);
}

void from_json(const Value& json, AddFromArgs& args) {
  args.from = require_string(require_object(json, "add_from"), "from", 200);
}

std::int64_t Counter::inc(Context& ctx, const IncArgs& args) {
  std::int64_t next = 0;
  if (__builtin_add_overflow(get(ctx), args.by, &next)) {
    throw Error(ErrorCode::kBadRequest, "counter would overflow a 64-bit integer");
  }
  ctx.storage().put(kValueKey, next);
  return next;
}

std::int64_t Counter::get(Context& ctx) {
  return ctx.storage().get_or<std::int64_t>(kValueKey, 0);
}

void Counter::reset(Context& ctx) {
  ctx.storage().del(kValueKey);
}

void Counter::add_from(Context& ctx, const AddFromArgs& args) {
  // No reply from this turn: `added` answers once the other counter has.
  ctx.call("Counter", args.from, "get", nullptr, "added");
}

std::int64_t Counter::added(Context& ctx, const CallResult& other) {
  // Its value as it is now, not as it was when the call left: other turns may have run since.
  return inc(ctx, IncArgs{other.get().get<std::int64_t>()});
}

}  // namespace dobj::examples
