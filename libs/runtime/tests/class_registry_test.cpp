#include "dobj/runtime/class_registry.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/runtime/object.hpp"
#include "dobj/testing.hpp"

namespace dobj {
namespace {

struct Point {
  int x = 0;
  int y = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Point, x, y)

struct Step {
  int by = 1;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Step, by)

int deactivations = 0;

// One method of each shape the registry takes.
class Shapes : public Object {
 public:
  Point mirror(Context&, const Point& p) { return {p.y, p.x}; }
  int sum(Context&, std::vector<int> values) {
    int total = 0;
    for (int v : values) total += v;
    return total;
  }
  std::string name(Context& ctx) { return ctx.object_id(); }
  void remember(Context& ctx, const std::string& text) { ctx.storage().put("text", text); }
  std::string recall(Context& ctx) { return ctx.storage().get_or<std::string>("text", "nothing"); }
  Value raw(Context&, const Value& arg) { return arg; }
  int step(Context&, const Step& s) { return s.by; }
  void on_deactivate() override { ++deactivations; }
};

ClassRegistry shapes_registry() {
  ClassRegistry registry;
  registry.add<Shapes>("Shapes")
      .method("mirror", &Shapes::mirror)
      .method("sum", &Shapes::sum)
      .method("name", &Shapes::name)
      .method("remember", &Shapes::remember)
      .method("recall", &Shapes::recall)
      .method("raw", &Shapes::raw)
      .method("step", &Shapes::step);
  return registry;
}

std::optional<ErrorCode> code_of(ObjectHarness& object, const std::string& method,
                                 const Value& arg) {
  try {
    object.call(method, arg);
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

TEST(ClassRegistry, TypedMethodsConvertArgumentsAndResultsWithJson) {
  auto registry = shapes_registry();
  ObjectHarness object(registry, "Shapes", "s1");
  EXPECT_EQ(object.call("mirror", {{"x", 1}, {"y", 2}}), Value({{"x", 2}, {"y", 1}}));
  EXPECT_EQ(object.call("sum", {1, 2, 3}), 6);
  EXPECT_EQ(object.call("name"), "s1");
  EXPECT_EQ(object.call("recall"), "nothing");           // get_or's fallback
  EXPECT_EQ(object.call("remember", "hello"), nullptr);  // void answers null
  EXPECT_EQ(object.call("recall"), "hello");
  EXPECT_EQ(object.call("raw", {{"any", {1, "two"}}}), Value({{"any", {1, "two"}}}));
  EXPECT_EQ(object.call("raw"), nullptr);
}

// No argument reads as {} for a struct whose fields have defaults, and only for such.
TEST(ClassRegistry, NoArgumentIsAnEmptyObjectForAStructWithDefaults) {
  auto registry = shapes_registry();
  ObjectHarness object(registry, "Shapes", "s1");
  EXPECT_EQ(object.call("step"), 1);
  EXPECT_EQ(object.call("step", Value::object()), 1);
  EXPECT_EQ(object.call("step", {{"by", 3}}), 3);
  EXPECT_EQ(code_of(object, "step", {{"by", "three"}}), ErrorCode::kBadRequest);
  EXPECT_EQ(code_of(object, "sum", nullptr), ErrorCode::kBadRequest);  // a list is not optional
}

TEST(ClassRegistry, AnArgumentThatDoesNotConvertIsBadRequestAndRunsNothing) {
  auto registry = shapes_registry();
  ObjectHarness object(registry, "Shapes", "s1");
  EXPECT_EQ(code_of(object, "mirror", {{"x", "one"}, {"y", 2}}), ErrorCode::kBadRequest);
  EXPECT_EQ(code_of(object, "mirror", {{"x", 1}}), ErrorCode::kBadRequest);  // y missing
  EXPECT_EQ(code_of(object, "mirror", nullptr), ErrorCode::kBadRequest);
  EXPECT_EQ(code_of(object, "sum", {1, "2"}), ErrorCode::kBadRequest);
  EXPECT_EQ(code_of(object, "remember", 42), ErrorCode::kBadRequest);
  EXPECT_TRUE(object.stored().empty());
}

TEST(ClassRegistry, OnDeactivateRunsWhenTheInstanceLeavesMemory) {
  auto registry = shapes_registry();
  ObjectHarness object(registry, "Shapes", "s1");
  deactivations = 0;
  object.call("name");
  object.evict();
  EXPECT_EQ(deactivations, 1);
  object.evict();  // nothing in memory: nothing to deactivate
  EXPECT_EQ(deactivations, 1);
}

TEST(ClassRegistry, DescribeListsCallableMethodsWithoutTheAlarm) {
  auto registry = shapes_registry();
  auto classes = registry.describe();
  ASSERT_EQ(classes.size(), 1u);
  EXPECT_EQ(classes["Shapes"], (std::vector<std::string>{"mirror", "name", "raw", "recall",
                                                         "remember", "step", "sum"}));
}

using ClassRegistryDeathTest = ::testing::Test;

TEST_F(ClassRegistryDeathTest, InvalidOrDuplicateMethodNamesAbortAtRegistration) {
  EXPECT_DEATH(
      {
        ClassRegistry registry;
        registry.add<Shapes>("Shapes").method("has.dot", &Shapes::name);
      },
      "invalid or duplicate method name 'has.dot'");
  EXPECT_DEATH(
      {
        ClassRegistry registry;
        registry.add<Shapes>("Shapes").method("$alarm", &Shapes::name);
      },
      "invalid or duplicate method name");
  EXPECT_DEATH(
      {
        ClassRegistry registry;
        registry.add<Shapes>("Shapes")
            .method("name", &Shapes::name)
            .method("name", &Shapes::recall);
      },
      "invalid or duplicate method name 'name'");
}

}  // namespace
}  // namespace dobj
