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

TEST(PeriodicTask, StopReturnsAtOnceDuringAWait) {
  PeriodicTask task("test-task", 1h, [] {});
  task.start();
  auto started = std::chrono::steady_clock::now();
  task.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

}  // namespace
}  // namespace dobj
