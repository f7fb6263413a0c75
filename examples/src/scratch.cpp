#include "scratch.hpp"

#include "dobj/examples/register_examples.hpp"

#include <stdexcept>

#include "arguments.hpp"

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

void register_test_classes(ClassRegistry& registry) {
  registry.add<Scratch>("Scratch")
      .method("echo", &Scratch::echo)
      .method("put", &Scratch::put)
      .method("get", &Scratch::get)
      .method("put_then_throw", &Scratch::put_then_throw)
      .method("writes", &Scratch::writes);
}

}  // namespace dobj::examples
