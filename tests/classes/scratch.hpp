#pragma once

#include <cstdint>

#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// A class for tests and benchmarks, hosted only by dobj-test-worker: echo, raw
// put/get, and a handler that writes then throws (its writes must vanish).
class Scratch : public Object {
 public:
  void on_activate(Context& ctx) override;
  Value echo(Context& ctx, const Value& arg);
  Value spin(Context& ctx, const Value& arg);
  Value put(Context& ctx, const Value& arg);
  Value get(Context& ctx, const Value& arg);
  Value put_then_throw(Context& ctx, const Value& arg);
  Value writes(Context& ctx, const Value& arg);
  Value sql(Context& ctx, const Value& arg);
  Value sql_then_throw(Context& ctx, const Value& arg);
  Value put_many(Context& ctx, const Value& arg);
  Value get_many(Context& ctx, const Value& arg);
  Value del_many(Context& ctx, const Value& arg);
  Value delete_all(Context& ctx, const Value& arg);
  Value list(Context& ctx, const Value& arg);
  Value set_alarm(Context& ctx, const Value& arg);
  Value set_alarm_then_throw(Context& ctx, const Value& arg);
  Value get_alarm(Context& ctx, const Value& arg);
  Value delete_alarm(Context& ctx, const Value& arg);
  Value alarm_plan(Context& ctx, const Value& arg);
  Value alarm_status(Context& ctx, const Value& arg);
  Value send(Context& ctx, const Value& arg);
  Value publish_durable(Context& ctx, const Value& arg);
  Value append(Context& ctx, const Value& arg);
  Value appended(Context& ctx, const Value& arg);
  Value call(Context& ctx, const Value& arg);
  Value resumed(Context& ctx, const CallResult& result);
  Value alarm(Context& ctx, const AlarmInfo& info);

 private:
  // In-memory mirror of the stored write count: a throw must not leave it changed.
  std::int64_t writes_ = 0;
};

}  // namespace dobj::examples
