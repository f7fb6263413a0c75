#include "dobj/core/periodic_task.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace dobj {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicTask, AThrowingStepIsLoggedAndTheLoopGoesOn) {
  std::atomic<int> runs{0};
  PeriodicTask task("test-task", 1h, [&] {
    ++runs;
    throw std::runtime_error("boom");
  });
  EXPECT_NO_THROW(task.step_now());
  task.start();
  task.wake();  // the interval is an hour: only wake() can make it run
  for (int i = 0; i < 2000 && runs < 2; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_GE(runs.load(), 2);
  task.wake();
  for (int i = 0; i < 2000 && runs < 3; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_GE(runs.load(), 3);
  task.stop();
  task.stop();  // idempotent
}

// The step decides the next wait: the first step runs at once, then an hour passes unless woken;
// a throwing step waits the after-failure delay (here: none), and the loop goes on.
TEST(PeriodicTask, AnAdaptiveStepChoosesItsNextWait) {
  std::atomic<int> runs{0};
  PeriodicTask task(
      "test-task",
      [&]() -> std::chrono::milliseconds {
        if (++runs == 2) throw std::runtime_error("second step fails");
        return runs < 2 ? 0ms : std::chrono::milliseconds(1h);
      },
      0ms);
  task.start();
  for (int i = 0; i < 5000 && runs < 3; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(runs.load(), 3);  // at once, at once, then at once after the failure
  task.wake();
  for (int i = 0; i < 5000 && runs < 4; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(runs.load(), 4);
  task.stop();
}

TEST(PeriodicTask, StopReturnsAtOnceDuringAWait) {
  PeriodicTask task("test-task", 1h, [] {});
  task.start();
  auto started = std::chrono::steady_clock::now();
  task.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

}  // namespace
}  // namespace dobj
