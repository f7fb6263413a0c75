// Counter in memory (ObjectHarness): add_from's awaited call and its continuation.
#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/examples/register_examples.hpp"
#include "dobj/runtime/object_harness.hpp"

namespace dobj::examples {
namespace {

class CounterTest : public ::testing::Test {
 protected:
  CounterTest() { register_examples(registry_); }
  ClassRegistry registry_;
};

TEST_F(CounterTest, AddFromCallsTheOtherCounterAndAddsItsValueWhenItAnswers) {
  ObjectHarness a(registry_, "Counter", "a");
  a.call("inc", {{"by", 2}});
  EXPECT_EQ(a.call("add_from", {{"from", "b"}}), nullptr);  // no answer of its own
  auto calls = a.take_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].class_name, "Counter");
  EXPECT_EQ(calls[0].object_id, "b");
  EXPECT_EQ(calls[0].method, "get");
  EXPECT_EQ(calls[0].then, "added");
  // Another turn ran meanwhile: the continuation adds to the value as it is then.
  a.call("inc", {{"by", 1}});
  EXPECT_EQ(a.resume(calls[0], 5), 8);
  EXPECT_EQ(a.call("get"), 8);
}

TEST_F(CounterTest, AddFromPassesTheOtherCountersErrorOnAndChangesNothing) {
  ObjectHarness a(registry_, "Counter", "a");
  a.call("add_from", {{"from", "b"}});
  auto calls = a.take_calls();
  ASSERT_EQ(calls.size(), 1u);
  try {
    a.resume(calls[0], Error(ErrorCode::kTimeout, "no answer in time"));
    ADD_FAILURE() << "the continuation swallowed the error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kTimeout);
  }
  EXPECT_EQ(a.call("get"), 0);
  EXPECT_THROW(a.call("add_from", {{"from", "not an id"}}), Error);
  EXPECT_TRUE(a.take_calls().empty());
}

}  // namespace
}  // namespace dobj::examples
