#include "scratch.hpp"

#include "ledger.hpp"

#include "test_classes.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "arguments.hpp"
#include "wall_time.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kWritesKey = "$writes";
}  // namespace

void Scratch::on_activate(Context& ctx) {
  auto stored = ctx.storage().get(kWritesKey);
  writes_ = stored ? stored->get<std::int64_t>() : 0;
}

Value Scratch::echo(Context&, const Value& arg) {
  return arg;
}

Value Scratch::spin(Context&, const Value& arg) {
  // A handler that does not return for {"ms": n} milliseconds: the worker's turn limit is tested
  // with it. Busy, like a handler stuck in a loop.
  auto until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(arg.is_object() ? arg.value("ms", 0) : 0);
  while (std::chrono::steady_clock::now() < until) {
  }
  return nullptr;
}

Value Scratch::put(Context& ctx, const Value& arg) {
  require_object(arg, "put");
  ctx.storage().put(require_string(arg, "key", 2048), arg.value("value", Value()));
  ctx.storage().put(kWritesKey, ++writes_);
  return nullptr;
}

Value Scratch::get(Context& ctx, const Value& arg) {
  auto v = ctx.storage().get(require_string(require_object(arg, "get"), "key", 2048));
  return v ? *v : Value();
}

Value Scratch::put_then_throw(Context& ctx, const Value& arg) {
  put(ctx, arg);
  throw std::runtime_error("put_then_throw failed on purpose");
}

// {"writes": n} from the in-memory member: a failed turn's increment must not show.
Value Scratch::writes(Context&, const Value&) {
  return {{"writes", writes_}};
}

// {"query": q, "params": [...]} → rows as objects.
Value Scratch::sql(Context& ctx, const Value& arg) {
  require_object(arg, "sql");
  std::vector<Value> params;
  if (arg.contains("params")) params = arg["params"].get<std::vector<Value>>();
  return ctx.sql().exec_values(require_string(arg, "query", 1 << 16), params).to_objects();
}

Value Scratch::sql_then_throw(Context& ctx, const Value& arg) {
  sql(ctx, arg);
  throw std::runtime_error("sql_then_throw failed on purpose");
}

// {"entries": {"k": v, ...}}
Value Scratch::put_many(Context& ctx, const Value& arg) {
  std::vector<std::pair<std::string, Value>> entries;
  for (const auto& [k, v] : require_object(arg, "put_many").at("entries").items()) {
    entries.emplace_back(k, v);
  }
  ctx.storage().put_many(std::move(entries));
  return nullptr;
}

// {"keys": [...]} → {"k": v} for the present ones.
Value Scratch::get_many(Context& ctx, const Value& arg) {
  Value out = Value::object();
  for (auto& [k, v] : ctx.storage().get_many(require_object(arg, "get_many").at("keys"))) {
    out[k] = v;
  }
  return out;
}

Value Scratch::del_many(Context& ctx, const Value& arg) {
  return ctx.storage().del_many(require_object(arg, "del_many").at("keys"));
}

Value Scratch::delete_all(Context& ctx, const Value&) {
  ctx.storage().delete_all();
  writes_ = 0;
  return nullptr;
}

// {"prefix", "start", "end", "limit", "reverse"} → [[key, value], ...]
Value Scratch::list(Context& ctx, const Value& arg) {
  ListOptions o;
  if (arg.is_object()) {
    o.prefix = arg.value("prefix", "");
    if (arg.contains("start")) o.start = arg["start"].get<std::string>();
    if (arg.contains("end")) o.end = arg["end"].get<std::string>();
    if (arg.contains("limit")) o.limit = arg["limit"].get<std::size_t>();
    o.reverse = arg.value("reverse", false);
  }
  Value out = Value::array();
  for (auto& [k, v] : ctx.storage().list(o)) out.push_back({k, v});
  return out;
}

// {"class", "id", "method", "count": n (1), "argument": a, "then_throw": b, "raw": r} → null: n
// durable messages, each with {"i": k, "argument": a} (k = 1..n), or with a itself when raw;
// then_throw fails the turn after them.
Value Scratch::send(Context& ctx, const Value& arg) {
  require_object(arg, "send");
  auto count = arg.value("count", std::int64_t{1});
  for (std::int64_t k = 1; k <= count; ++k) {
    ctx.send(arg.value("class", "Scratch"), arg.at("id").get<std::string>(),
             arg.value("method", "append"),
             arg.value("raw", false)
                 ? arg.value("argument", Value())
                 : Value{{"i", k}, {"argument", arg.value("argument", Value())}});
  }
  if (arg.value("then_throw", false)) throw std::runtime_error("send then throw, on purpose");
  return nullptr;
}

// {"topic": t, "count": n (1), "then_throw": b} → null: n durable events {"i": k}, k = 1..n.
Value Scratch::publish_durable(Context& ctx, const Value& arg) {
  require_object(arg, "publish_durable");
  auto count = arg.value("count", std::int64_t{1});
  for (std::int64_t k = 1; k <= count; ++k) {
    ctx.publish_durable(arg.at("topic").get<std::string>(), {{"i", k}});
  }
  if (arg.value("then_throw", false)) throw std::runtime_error("publish then throw, on purpose");
  return nullptr;
}

// Any argument → its position: each message stored under its arrival number, in order.
Value Scratch::append(Context& ctx, const Value& arg) {
  auto n = ctx.storage().get_or<std::int64_t>("appended", 0) + 1;
  ctx.storage().put("appended", n);
  char key[32];
  std::snprintf(key, sizeof key, "append/%010lld", static_cast<long long>(n));
  ctx.storage().put(key, arg);
  return n;
}

// → every argument append received, in arrival order.
Value Scratch::appended(Context& ctx, const Value&) {
  Value out = Value::array();
  ListOptions o;
  o.prefix = "append/";
  for (auto& [k, v] : ctx.storage().list(o)) out.push_back(v);
  return out;
}

// An awaited call: {"id": id, "class": c (Scratch), "method": m (echo), "argument": a,
// "timeout_ms": n (30 s), "put": {"key", "value"} (written first), "carry": x}; the reply comes
// from `resumed`.
Value Scratch::call(Context& ctx, const Value& arg) {
  require_object(arg, "call");
  if (arg.contains("put")) put(ctx, arg["put"]);
  ctx.call(arg.value("class", "Scratch"), require_string(arg, "id", 200),
           arg.value("method", "echo"), arg.value("argument", Value()), "resumed",
           arg.value("carry", Value()),
           std::chrono::milliseconds(arg.value("timeout_ms", std::int64_t{30'000})));
  return nullptr;
}

// A call's outcome: {"ok": true, "value": v, "carry": x} or {"ok": false, "error": code,
// "message": m, "carry": x}; a carry {"call": {...}} makes the next call (a chain of
// continuations), {"throw": true} fails this turn. Each outcome is kept (key "resumed").
Value Scratch::resumed(Context& ctx, const CallResult& result) {
  Value out{{"ok", result.ok}, {"carry", result.carry}};
  if (result.ok) {
    out["value"] = result.value;
  } else {
    out["error"] = std::string(to_string(result.error->code()));
    out["message"] = result.error->what();
  }
  ctx.storage().put("resumed", ctx.storage().get_or<std::int64_t>("resumed", 0) + 1);
  if (result.carry.is_object() && result.carry.contains("call")) {
    return call(ctx, result.carry["call"]);
  }
  if (result.carry.is_object() && result.carry.value("throw", false)) {
    throw std::runtime_error("the continuation throws, on purpose");
  }
  return out;
}

// {"at_ms": epoch ms} or {"in_ms": n} → null
Value Scratch::set_alarm(Context& ctx, const Value& arg) {
  require_object(arg, "set_alarm");
  auto at = arg.contains("at_ms") ? arg["at_ms"].get<std::int64_t>()
                                  : now_ms(ctx) + arg.value("in_ms", std::int64_t{0});
  ctx.set_alarm(WallTime(std::chrono::milliseconds(at)));
  return nullptr;
}

Value Scratch::set_alarm_then_throw(Context& ctx, const Value& arg) {
  set_alarm(ctx, arg);
  throw std::runtime_error("set_alarm_then_throw failed on purpose");
}

// The alarm in epoch milliseconds, or null.
Value Scratch::get_alarm(Context& ctx, const Value&) {
  auto at = ctx.get_alarm();
  if (!at) return nullptr;
  return std::chrono::duration_cast<std::chrono::milliseconds>(at->time_since_epoch()).count();
}

Value Scratch::delete_alarm(Context& ctx, const Value&) {
  ctx.delete_alarm();
  return nullptr;
}

// {"fail_until_retry": k, "reschedule_ms": x, "reschedule_times": n}: the alarm handler throws
// while retry_count < k, then counts the firing and sets the alarm again n times, x ms later.
Value Scratch::alarm_plan(Context& ctx, const Value& arg) {
  ctx.storage().put("$alarm_plan", require_object(arg, "alarm_plan"));
  return nullptr;
}

Value Scratch::alarm_status(Context& ctx, const Value&) {
  return {{"fired", ctx.storage().get("$alarm_fired").value_or(0)},
          {"last_retry_count", ctx.storage().get("$alarm_retry").value_or(Value())},
          {"alarm", get_alarm(ctx, nullptr)}};
}

// Without a plan it writes nothing (no schema for a bare object) and only publishes
// evt.Scratch.<id>.alarm with {"retry_count"}.
Value Scratch::alarm(Context& ctx, const AlarmInfo& info) {
  auto plan = ctx.storage().get("$alarm_plan");
  if (plan) {
    if (info.retry_count < plan->value("fail_until_retry", 0)) {
      throw std::runtime_error("alarm failing on purpose at retry " +
                               std::to_string(info.retry_count));
    }
    auto fired = ctx.storage().get("$alarm_fired").value_or(0).get<std::int64_t>() + 1;
    ctx.storage().put("$alarm_fired", fired);
    ctx.storage().put("$alarm_retry", info.retry_count);
    if (fired <= plan->value("reschedule_times", 0)) {
      ctx.set_alarm(
          WallTime(std::chrono::milliseconds(now_ms(ctx) + plan->value("reschedule_ms", 0))));
    }
  }
  ctx.publish("alarm", {{"retry_count", info.retry_count}, {"is_retry", info.is_retry}});
  return nullptr;
}

void register_test_classes(ClassRegistry& registry) {
  // The same class twice: lazily loaded (default) and eagerly loaded.
  for (const char* name : {"Scratch", "ScratchEager"}) {
    auto builder = registry.add<Scratch>(name);
    if (std::string(name) == "ScratchEager") builder.eager_load();
    builder.method("echo", &Scratch::echo)
        .method("spin", &Scratch::spin)
        .method("put", &Scratch::put)
        .method("get", &Scratch::get)
        .method("put_then_throw", &Scratch::put_then_throw)
        .method("writes", &Scratch::writes)
        .method("sql", &Scratch::sql)
        .method("sql_then_throw", &Scratch::sql_then_throw)
        .method("put_many", &Scratch::put_many)
        .method("get_many", &Scratch::get_many)
        .method("del_many", &Scratch::del_many)
        .method("delete_all", &Scratch::delete_all)
        .method("list", &Scratch::list)
        .method("set_alarm", &Scratch::set_alarm)
        .method("set_alarm_then_throw", &Scratch::set_alarm_then_throw)
        .method("get_alarm", &Scratch::get_alarm)
        .method("delete_alarm", &Scratch::delete_alarm)
        .method("alarm_plan", &Scratch::alarm_plan)
        .method("alarm_status", &Scratch::alarm_status)
        .method("send", &Scratch::send)
        .method("publish_durable", &Scratch::publish_durable)
        .method("append", &Scratch::append)
        .method("appended", &Scratch::appended)
        .method("call", &Scratch::call)
        .continuation("resumed", &Scratch::resumed)
        .alarm(&Scratch::alarm);
  }
  register_ledger(registry);
}

}  // namespace dobj::examples
