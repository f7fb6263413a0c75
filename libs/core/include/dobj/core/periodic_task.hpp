#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace spdlog {
class logger;
}

namespace dobj {

// A background loop that runs `step` every `interval` on its own thread (userver's PeriodicTask).
// A step that throws is logged with the task's name and the loop goes on: no exception ever
// leaves the thread. Lifecycle: construct → start() → stop() (idempotent, also in the
// destructor); step_now() runs one step on the caller's thread, the test hook.
class PeriodicTask {
 public:
  // A step that says how long to wait before the next one (a timer wheel's next due time).
  using AdaptiveStep = std::function<std::chrono::milliseconds()>;

  PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> step);
  // The first step runs at once; after a step that throws, the next waits `after_failure`.
  PeriodicTask(std::string name, AdaptiveStep step, std::chrono::milliseconds after_failure);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start();
  void stop();
  void step_now();
  // Runs the next step at once instead of after the interval.
  void wake();

 private:
  // Runs one step; returns the wait before the next.
  std::chrono::milliseconds run_step();

  std::string name_;
  std::chrono::milliseconds first_wait_;
  std::chrono::milliseconds after_failure_;
  AdaptiveStep step_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace dobj
