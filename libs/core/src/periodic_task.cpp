#include "dobj/core/periodic_task.hpp"

#include <spdlog/spdlog.h>

#include "dobj/core/logging.hpp"

namespace dobj {

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval,
                           std::function<void()> step)
    : name_(std::move(name)), interval_(interval), step_(std::move(step)), log_(logger(name_)) {}

PeriodicTask::~PeriodicTask() {
  stop();
}

void PeriodicTask::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      cv_.wait_for(lock, interval_, [this] { return stopping_ || woken_; });
      if (stopping_) break;
      woken_ = false;
      lock.unlock();
      step_now();
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
  try {
    step_();
  } catch (const std::exception& e) {
    log_->error("{}: step failed: {}", name_, e.what());
  } catch (...) {
    log_->error("{}: step failed with a non-standard exception", name_);
  }
}

}  // namespace dobj
