#include "alarm_wheel.hpp"

#include <gtest/gtest.h>

namespace dobj {
namespace {

store::ClaimedAlarm alarm(const std::string& id, store::EpochMicros at) {
  return store::ClaimedAlarm{"Lock", id, 0, at, at, 0};
}

TEST(AlarmWheel, TakesWhatIsDueEarliestFirstAndNothingElse) {
  AlarmWheel wheel;
  EXPECT_FALSE(wheel.next_fire_at());
  wheel.hold(alarm("b", 300));
  wheel.hold(alarm("a", 100));
  wheel.hold(alarm("c", 200));
  EXPECT_EQ(wheel.next_fire_at(), 100);
  EXPECT_TRUE(wheel.take_due(99).empty());
  auto due = wheel.take_due(200);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].object_id, "a");
  EXPECT_EQ(due[1].object_id, "c");
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.next_fire_at(), 300);
}

// The object set another time after the first claim: only the newer alarm is held.
TEST(AlarmWheel, HoldingAnObjectsAlarmAgainReplacesTheOldOne) {
  AlarmWheel wheel;
  wheel.hold(alarm("a", 100));
  wheel.hold(alarm("a", 500));
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_TRUE(wheel.take_due(400).empty());
  auto due = wheel.take_due(500);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].fire_at, 500);
  // Taken alarms are forgotten: holding it again is a new entry.
  wheel.hold(alarm("a", 600));
  EXPECT_EQ(wheel.size(), 1u);
  wheel.clear();
  EXPECT_TRUE(wheel.empty());
}

}  // namespace
}  // namespace dobj
