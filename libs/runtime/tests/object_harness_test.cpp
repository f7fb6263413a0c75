#include "dobj/runtime/object_harness.hpp"

#include <gtest/gtest.h>

#include "dobj/runtime/object.hpp"

namespace dobj {
namespace {

// Puts keys and lists ranges of them, as a class would.
class Lister : public Object {
 public:
  Value put(Context& ctx, const Value& arg) {
    for (const auto& key : arg) ctx.storage().put(key.get<std::string>(), 1);
    return nullptr;
  }
  Value list(Context& ctx, const Value& arg) {
    ListOptions o;
    if (arg.contains("start")) o.start = arg["start"].get<std::string>();
    if (arg.contains("end")) o.end = arg["end"].get<std::string>();
    if (arg.contains("limit")) o.limit = arg["limit"].get<std::size_t>();
    o.reverse = arg.value("reverse", false);
    Value keys = Value::array();
    for (const auto& [k, v] : ctx.storage().list(o)) keys.push_back(k);
    return keys;
  }
};

// A lazily loaded object lists through the store's range query: the harness answers it with the
// database's bounds (start, end, limit, order), or the list would show keys outside its range.
TEST(ObjectHarness, RangesOfAnEvictedObjectComeBackWithTheirBounds) {
  ClassRegistry registry;
  registry.add<Lister>("Lister").method("put", &Lister::put).method("list", &Lister::list);
  ObjectHarness object(registry, "Lister", "l");
  object.call("put", {"a", "b", "c", "d"});
  for (bool evict : {false, true}) {
    if (evict) object.evict();
    EXPECT_EQ(object.call("list", {{"start", "b"}, {"end", "d"}}), Value({"b", "c"})) << evict;
    if (evict) object.evict();
    EXPECT_EQ(object.call("list", {{"reverse", true}, {"limit", 1}}), Value({"d"})) << evict;
    if (evict) object.evict();
    EXPECT_EQ(object.call("list", {{"end", "c"}, {"reverse", true}, {"limit", 1}}), Value({"b"}))
        << evict;
  }
}

}  // namespace
}  // namespace dobj
