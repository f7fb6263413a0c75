// Lock over hours of virtual time, in memory (ObjectHarness): no database, no timer, no sleeps.
#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/examples/register_examples.hpp"
#include "dobj/runtime/object_harness.hpp"

namespace dobj::examples {
namespace {

using namespace std::chrono_literals;

class LockTest : public ::testing::Test {
 protected:
  LockTest() { register_examples(registry_); }
  ClassRegistry registry_;
};

TEST_F(LockTest, ExpiresThroughItsAlarmAtTheExactTime) {
  ObjectHarness lock(registry_, "Lock", "door");
  auto start = lock.clock().now();
  EXPECT_EQ(lock.call("acquire", {{"holder", "ada"}, {"ttl_ms", 1000}}),
            Value({{"acquired", true}, {"holder", "ada"}}));
  EXPECT_EQ(lock.call("acquire", {{"holder", "bob"}, {"ttl_ms", 1000}}),
            Value({{"acquired", false}, {"holder", "ada"}}));
  EXPECT_EQ(lock.alarm(), start + 1000ms);
  lock.clock().advance(999ms);
  EXPECT_FALSE(lock.fire_due_alarm());
  EXPECT_EQ(lock.call("holder")["holder"], "ada");
  lock.clock().advance(1ms);
  EXPECT_TRUE(lock.fire_due_alarm());
  auto events = lock.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].topic, "expired");
  EXPECT_EQ(events[0].payload, Value({{"holder", "ada"}}));
  EXPECT_TRUE(lock.call("holder")["holder"].is_null());
  EXPECT_FALSE(lock.alarm());
}

// Held for hours, renewed before each expiry: the alarm follows the latest expiry and never
// fires early; the holder survives eviction (it is stored, not just in memory).
TEST_F(LockTest, RenewalsMoveTheExpiryAndTheHolderSurvivesEviction) {
  ObjectHarness lock(registry_, "Lock", "door");
  for (int hour = 0; hour < 5; ++hour) {
    EXPECT_EQ(lock.call("acquire", {{"holder", "ada"}, {"ttl_ms", 3'600'000}})["acquired"], true);
    lock.clock().advance(59min);
    EXPECT_FALSE(lock.fire_due_alarm());
    lock.evict();
    EXPECT_EQ(lock.call("holder")["holder"], "ada");
  }
  EXPECT_EQ(lock.call("release", {{"holder", "bob"}}), Value({{"released", false}}));
  EXPECT_EQ(lock.call("release", {{"holder", "ada"}}), Value({{"released", true}}));
  EXPECT_FALSE(lock.alarm());
  EXPECT_TRUE(lock.stored().empty());
  EXPECT_TRUE(lock.take_events().empty());
}

TEST_F(LockTest, BadArgumentsChangeNothing) {
  ObjectHarness lock(registry_, "Lock", "door");
  for (const auto& bad :
       {Value(), Value({{"holder", "ada"}}), Value({{"holder", 1}, {"ttl_ms", 5}}),
        Value({{"holder", "ada"}, {"ttl_ms", 0}})}) {
    try {
      lock.call("acquire", bad);
      ADD_FAILURE() << bad.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadRequest) << bad.dump();
    }
  }
  EXPECT_TRUE(lock.stored().empty());
  EXPECT_FALSE(lock.alarm());
}

}  // namespace
}  // namespace dobj::examples
