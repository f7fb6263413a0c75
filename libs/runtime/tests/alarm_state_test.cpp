// AlarmState: turns layered over the committed alarm, and the trace an alarm keeps.
#include "alarm_state.hpp"

#include <gtest/gtest.h>

namespace dobj {
namespace {

using store::AlarmOp;

TEST(AlarmState, ASetAlarmKeepsTheTraceOfTheTurnThatSetIt) {
  AlarmState alarm(std::nullopt);
  std::string trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  alarm.begin_turn(trace);
  alarm.set(1000);
  alarm.end_turn(true);
  EXPECT_EQ(alarm.pending_op().op, AlarmOp::kSet);
  EXPECT_EQ(alarm.pending_op().at, 1000);
  EXPECT_EQ(alarm.pending_op().trace, trace);

  // A turn without a trace that sets it again replaces the trace too.
  alarm.begin_turn("");
  alarm.set(2000);
  alarm.end_turn(true);
  EXPECT_EQ(alarm.pending_op().at, 2000);
  EXPECT_EQ(alarm.pending_op().trace, "");
}

TEST(AlarmState, AFailedTurnLeavesThePendingAlarmAndItsTrace) {
  AlarmState alarm(500);
  alarm.begin_turn("first");
  alarm.set(1000);
  alarm.end_turn(true);
  alarm.begin_turn("second");
  alarm.set(3000);
  EXPECT_EQ(alarm.get(), 3000);  // the turn sees its own set
  alarm.end_turn(false);
  EXPECT_EQ(alarm.get(), 1000);
  EXPECT_EQ(alarm.pending_op().trace, "first");
}

TEST(AlarmState, TheAlarmTurnDeletesWhatFiredUnlessItSetsAnother) {
  AlarmState fired(1000);
  fired.begin_turn("alarm turn");
  fired.delete_if_due(1000);
  fired.end_turn(true);
  EXPECT_EQ(fired.get(), std::nullopt);
  EXPECT_EQ(fired.pending_op().op, AlarmOp::kDeleteIfDue);

  AlarmState rescheduled(1000);
  rescheduled.begin_turn("alarm turn");
  rescheduled.delete_if_due(1000);
  rescheduled.set(5000);
  rescheduled.end_turn(true);
  EXPECT_EQ(rescheduled.get(), 5000);
  EXPECT_EQ(rescheduled.pending_op().op, AlarmOp::kSet);
  EXPECT_EQ(rescheduled.pending_op().trace, "alarm turn");

  // Set and fired within one batch: the commit deletes it.
  AlarmState both(std::nullopt);
  both.begin_turn("t");
  both.set(1000);
  both.end_turn(true);
  both.begin_turn("alarm turn");
  both.delete_if_due(1000);
  both.end_turn(true);
  EXPECT_EQ(both.pending_op().op, AlarmOp::kDelete);
  both.mark_committed();
  EXPECT_FALSE(both.has_pending());
  EXPECT_EQ(both.get(), std::nullopt);
}

}  // namespace
}  // namespace dobj
