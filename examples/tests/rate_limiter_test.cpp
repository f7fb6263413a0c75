// RateLimiter refills by virtual time, in memory (ObjectHarness).
#include <gtest/gtest.h>

#include "dobj/examples/register_examples.hpp"
#include "dobj/runtime/object_harness.hpp"

namespace dobj::examples {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, RefillsOneTokenPerIntervalThroughItsAlarmUpToCapacity) {
  ClassRegistry registry;
  register_examples(registry);
  ObjectHarness limiter(registry, "RateLimiter", "api");
  EXPECT_EQ(limiter.call("configure", {{"capacity", 3}, {"refill_per_sec", 10}})["tokens"], 3);
  EXPECT_FALSE(limiter.alarm());  // full: nothing to refill
  EXPECT_EQ(limiter.call("take", {{"tokens", 3}}), Value({{"allowed", true}, {"remaining", 0}}));
  EXPECT_EQ(limiter.call("take"), Value({{"allowed", false}, {"remaining", 0}}));
  auto start = limiter.clock().now();
  EXPECT_EQ(limiter.alarm(), start + 100ms);
  limiter.clock().advance(99ms);
  EXPECT_FALSE(limiter.fire_due_alarm());
  limiter.clock().advance(1ms);
  EXPECT_TRUE(limiter.fire_due_alarm());
  EXPECT_EQ(limiter.call("status")["tokens"], 1);
  EXPECT_EQ(limiter.alarm(), start + 200ms);
  // An hour later, whatever fired or not: full, no alarm left once refilled.
  limiter.clock().advance(1h);
  EXPECT_TRUE(limiter.fire_due_alarm());
  EXPECT_EQ(limiter.call("status")["tokens"], 3);
  EXPECT_FALSE(limiter.alarm());
}

}  // namespace
}  // namespace dobj::examples
