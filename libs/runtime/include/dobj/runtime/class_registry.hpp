#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "dobj/core/value.hpp"
#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj {

using MethodFn = std::function<Value(Object&, Context&, const Value& argument)>;

// The system method dobj-timer calls; its argument is {"due_at_us", "retry_count"}.
constexpr const char* kAlarmMethod = "$alarm";

struct ClassDef {
  std::string name;
  // Eager: an activation loads every key at once (one query); lazy (default): keys load on
  // first use and list() reads only the range it returns.
  bool eager_load = false;
  std::function<std::unique_ptr<Object>()> factory;
  std::map<std::string, MethodFn, std::less<>> methods;

  const MethodFn* find_method(std::string_view method) const;
};

// The object classes a worker hosts:
//   registry.add<Counter>("Counter").method("inc", &Counter::inc).method("get", &Counter::get);
class ClassRegistry {
 public:
  template <typename T>
  class Builder {
   public:
    explicit Builder(ClassDef& def) : def_(def) {}
    Builder& method(const std::string& name, Value (T::*fn)(Context&, const Value&)) {
      def_.methods[name] = [fn](Object& o, Context& ctx, const Value& arg) {
        return (static_cast<T&>(o).*fn)(ctx, arg);
      };
      return *this;
    }
    // The handler dobj-timer runs when the object's alarm is due (system method $alarm).
    Builder& alarm(Value (T::*fn)(Context&, const AlarmInfo&)) {
      def_.methods[kAlarmMethod] = [fn](Object& o, Context& ctx, const Value& arg) {
        AlarmInfo info;
        info.retry_count = arg.is_object() ? arg.value("retry_count", 0) : 0;
        info.is_retry = info.retry_count > 0;
        return (static_cast<T&>(o).*fn)(ctx, info);
      };
      return *this;
    }
    Builder& eager_load() {
      def_.eager_load = true;
      return *this;
    }

   private:
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

 private:
  ClassDef& add_class(const std::string& name, std::function<std::unique_ptr<Object>()> factory);
  std::map<std::string, ClassDef, std::less<>> classes_;
};

}  // namespace dobj
