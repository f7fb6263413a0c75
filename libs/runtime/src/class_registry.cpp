#include "dobj/runtime/class_registry.hpp"

#include <cstdlib>

#include "call_route.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/core/names.hpp"

namespace dobj {

const MethodFn* ClassDef::find_method(std::string_view method) const {
  auto it = methods.find(method);
  return it == methods.end() ? nullptr : &it->second;
}

ClassDef& ClassRegistry::add_class(const std::string& name,
                                   std::function<std::unique_ptr<Object>()> factory) {
  if (!is_valid_class_name(name) || classes_.count(name) != 0) {
    logger("runtime")->critical("invalid or duplicate class name '{}'", name);
    std::abort();
  }
  auto& def = classes_[name];
  def.name = name;
  def.factory = std::move(factory);
  return def;
}

void ClassRegistry::check_continuation_name(const ClassDef& def, const std::string& name) {
  if (!is_valid_method_name(name) || def.continuations.count(name) != 0) {
    logger("runtime")->critical("class {}: invalid or duplicate continuation name '{}'", def.name,
                                name);
    std::abort();
  }
}

MethodFn ClassRegistry::result_method(const ClassDef& def) {
  // The ClassDef lives in the registry's map, as long as the registry: the reference stays good.
  return [&def](Object& o, Context& ctx, const Value& argument) {
    auto route =
        CallRoute::from_value(argument.is_object() ? argument.value("route", Value()) : Value());
    CallResult result;
    result.carry = route.carry;
    result.ok = argument.value("ok", false);
    if (result.ok) {
      result.value = argument.value("value", Value());
    } else {
      const auto error = argument.value("error", Value::object());
      auto code = error_code_from_string(error.value("code", ""));
      result.error = Error(code.value_or(ErrorCode::kHandlerError),
                           error.value("message", std::string("the call failed")));
    }
    auto it = def.continuations.find(route.then);
    if (it == def.continuations.end()) {
      throw Error(ErrorCode::kHandlerError,
                  "class '" + def.name + "' has no continuation '" + route.then + "' any more");
    }
    return it->second(o, ctx, result);
  };
}

void ClassRegistry::check_method_name(const ClassDef& def, const std::string& name) {
  if (!is_valid_method_name(name) || def.methods.count(name) != 0) {
    logger("runtime")->critical("class {}: invalid or duplicate method name '{}'", def.name, name);
    std::abort();
  }
}

std::map<std::string, std::vector<std::string>> ClassRegistry::describe() const {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, def] : classes_) {
    auto& methods = out[name];
    for (const auto& [method, fn] : def.methods) {
      if (!is_system_method(method)) methods.push_back(method);
    }
  }
  return out;
}

const ClassDef* ClassRegistry::find(std::string_view name) const {
  auto it = classes_.find(name);
  return it == classes_.end() ? nullptr : &it->second;
}

}  // namespace dobj
