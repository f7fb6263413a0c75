#include "ledger.hpp"

#include <chrono>

#include "arguments.hpp"

namespace dobj::examples {
namespace {
constexpr std::size_t kMaxOpBytes = 200;
}  // namespace

Value Ledger::add(Context& ctx, const Value& arg) {
  auto op = require_string(require_object(arg, "add"), "op", kMaxOpBytes);
  auto& kv = ctx.storage();
  auto n = kv.get("n").value_or(0).get<std::int64_t>() + 1;
  if (kv.get("op:" + op)) {
    kv.put("dups", kv.get("dups").value_or(0).get<std::int64_t>() + 1);
  }
  kv.put("op:" + op, n);
  kv.put("n", n);
  return {{"n", n}};
}

Value Ledger::state(Context& ctx, const Value&) {
  return {{"n", ctx.storage().get("n").value_or(0)},
          {"dups", ctx.storage().get("dups").value_or(0)}};
}

Value Ledger::arm(Context& ctx, const Value& arg) {
  const auto& a = require_object(arg, "arm");
  auto it = a.find("at_ms");
  std::int64_t at = it != a.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  if (at <= 0) throw Error(ErrorCode::kBadRequest, "arm needs {\"at_ms\": <epoch ms>}");
  ctx.set_alarm(WallTime(std::chrono::milliseconds(at)));
  ctx.storage().put("armed", at);
  return {{"armed", at}};
}

Value Ledger::alarm(Context& ctx, const AlarmInfo& info) {
  auto armed = ctx.storage().get("armed").value_or(0).get<std::int64_t>();
  ctx.storage().put("fired:" + std::to_string(armed), info.retry_count);
  return nullptr;
}

void register_ledger(ClassRegistry& registry) {
  registry.add<Ledger>("Ledger")
      .method("add", &Ledger::add)
      .method("state", &Ledger::state)
      .method("arm", &Ledger::arm)
      .alarm(&Ledger::alarm);
}

}  // namespace dobj::examples
