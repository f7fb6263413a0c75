#include "dobj/core/periodic_task.hpp"

#include <spdlog/spdlog.h>

#include "dobj/core/logging.hpp"
#include "dobj/core/thread_name.hpp"

namespace dobj {

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval,
                           std::function<void()> step)
    : name_(std::move(name)),
      first_wait_(interval),
      after_failure_(interval),
      step_([step = std::move(step), interval] {
        step();
        return interval;
      }),
      log_(logger(name_)) {}

PeriodicTask::PeriodicTask(std::string name, AdaptiveStep step,
                           std::chrono::milliseconds after_failure)
    : name_(std::move(name)),
      first_wait_(0),
      after_failure_(after_failure),
      step_(std::move(step)),
      log_(logger(name_)) {}

PeriodicTask::~PeriodicTask() {
  stop();
}

void PeriodicTask::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    name_this_thread(name_);
    std::unique_lock lock(mutex_);
    auto wait = first_wait_;
    while (!stopping_) {
      cv_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
      if (stopping_) break;
      woken_ = false;
      lock.unlock();
      wait = run_step();
      lock.lock();
    }
  });
}

void PeriodicTask::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void PeriodicTask::step_now() {
  run_step();
}

std::chrono::milliseconds PeriodicTask::run_step() {
  try {
    return step_();
  } catch (const std::exception& e) {
    log_->error("{}: step failed: {}", name_, e.what());
  } catch (...) {
    log_->error("{}: step failed with a non-standard exception", name_);
  }
  return after_failure_;
}

}  // namespace dobj
