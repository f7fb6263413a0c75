#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"
#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj {

using MethodFn = std::function<Value(Object&, Context&, const Value& argument)>;
using ContinuationFn = std::function<Value(Object&, Context&, const CallResult&)>;

// The system method dobj-timer calls; its argument is {"due_at_us", "retry_count"}.
constexpr const char* kAlarmMethod = "$alarm";
// The system method a worker's courier calls with an awaited call's outcome (Context::call);
// it runs the continuation the call named. Its argument: {"ok", "value" | "error": {"code",
// "message"}, "route": the call's route (call_route.hpp)}.
constexpr const char* kResultMethod = "$result";

struct ClassDef {
  std::string name;
  // Eager: an activation loads every key at once (one query); lazy (default): keys load on
  // first use and list() reads only the range it returns.
  bool eager_load = false;
  std::function<std::unique_ptr<Object>()> factory;
  std::map<std::string, MethodFn, std::less<>> methods;
  // Where awaited calls resume (Builder::continuation); not callable by clients.
  std::map<std::string, ContinuationFn, std::less<>> continuations;

  const MethodFn* find_method(std::string_view method) const;
};

// Converts a request's argument to a typed method's parameter with nlohmann's from_json (types
// with NLOHMANN_DEFINE_TYPE_* or a from_json of their own); a mismatch is the client's error. No
// argument at all (null) reads as {} for a type that null does not convert to, so that a struct
// whose fields all have defaults needs no argument.
template <typename A>
A method_argument(const Value& argument) {
  try {
    return argument.get<A>();
  } catch (const nlohmann::json::exception& e) {
    if (argument.is_null()) {
      try {
        return Value::object().get<A>();
      } catch (const nlohmann::json::exception&) {
      }
    }
    throw Error(ErrorCode::kBadRequest, std::string("argument does not fit: ") + e.what());
  }
}

// A typed method's result as a reply value (to_json); void answers null.
template <typename F>
Value method_result(F&& call) {
  using R = std::invoke_result_t<F>;
  if constexpr (std::is_void_v<R>) {
    call();
    return nullptr;
  } else {
    return Value(call());
  }
}

// The object classes a worker hosts:
//   registry.add<Counter>("Counter").method("inc", &Counter::inc).method("get", &Counter::get);
// A method is a member function taking the Context and at most one argument, of any type
// nlohmann::json converts (Value itself for a raw one), returning such a type or void:
//   std::int64_t inc(Context&, const IncArgs&);  void reset(Context&);  Value raw(Context&, const
//   Value&);
// A method name is [A-Za-z_][A-Za-z0-9_]{0,63}, unique in its class: anything else aborts at
// registration, a programming error found at start-up rather than by the first request.
class ClassRegistry {
 public:
  template <typename T>
  class Builder {
   public:
    explicit Builder(ClassDef& def) : def_(def) {}

    template <typename R, typename A>
    Builder& method(const std::string& name, R (T::*fn)(Context&, A)) {
      using Arg = std::remove_cvref_t<A>;
      add_method(name, [fn](Object& o, Context& ctx, const Value& arg) {
        T& self = static_cast<T&>(o);
        if constexpr (std::is_same_v<Arg, Value>) {  // raw: no copy, no conversion
          return method_result([&]() -> R { return (self.*fn)(ctx, arg); });
        } else {
          Arg converted = method_argument<Arg>(arg);
          return method_result([&]() -> R { return (self.*fn)(ctx, std::move(converted)); });
        }
      });
      return *this;
    }
    template <typename R>
    Builder& method(const std::string& name, R (T::*fn)(Context&)) {
      add_method(name, [fn](Object& o, Context& ctx, const Value&) {
        return method_result([&]() -> R { return (static_cast<T&>(o).*fn)(ctx); });
      });
      return *this;
    }
    // The handler dobj-timer runs when the object's alarm is due (system method $alarm).
    template <typename R>
    Builder& alarm(R (T::*fn)(Context&, const AlarmInfo&)) {
      def_.methods[kAlarmMethod] = [fn](Object& o, Context& ctx, const Value& arg) {
        AlarmInfo info;
        info.retry_count = arg.is_object() ? arg.value("retry_count", 0) : 0;
        info.is_retry = info.retry_count > 0;
        return method_result([&]() -> R { return (static_cast<T&>(o).*fn)(ctx, info); });
      };
      return *this;
    }
    // A continuation of awaited calls (Context::call's `then`): runs as a turn of its own with
    // the call's outcome; what it returns (or throws) answers the request that made the call.
    //   Value added(Context&, const CallResult&);
    template <typename R>
    Builder& continuation(const std::string& name, R (T::*fn)(Context&, const CallResult&)) {
      ClassRegistry::check_continuation_name(def_, name);
      def_.continuations[name] = [fn](Object& o, Context& ctx, const CallResult& result) {
        return method_result([&]() -> R { return (static_cast<T&>(o).*fn)(ctx, result); });
      };
      def_.methods[kResultMethod] = ClassRegistry::result_method(def_);
      return *this;
    }
    Builder& eager_load() {
      def_.eager_load = true;
      return *this;
    }

   private:
    void add_method(const std::string& name, MethodFn fn) {
      ClassRegistry::check_method_name(def_, name);
      def_.methods[name] = std::move(fn);
    }
    ClassDef& def_;
  };

  // Aborts on an invalid or duplicate class name: that is a programming error, not input.
  template <typename T>
  Builder<T> add(const std::string& name) {
    ClassDef& def = add_class(name, [] { return std::make_unique<T>(); });
    return Builder<T>(def);
  }

  const ClassDef* find(std::string_view name) const;
  std::size_t size() const { return classes_.size(); }
  // Every class with its callable method names (the alarm handler not among them).
  std::map<std::string, std::vector<std::string>> describe() const;

 private:
  static void check_method_name(const ClassDef& def, const std::string& name);
  static void check_continuation_name(const ClassDef& def, const std::string& name);
  // $result: decodes the call's outcome and runs the continuation it names.
  static MethodFn result_method(const ClassDef& def);
  ClassDef& add_class(const std::string& name, std::function<std::unique_ptr<Object>()> factory);
  std::map<std::string, ClassDef, std::less<>> classes_;
};

}  // namespace dobj
