#pragma once

#include <pthread.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <functional>

namespace dobj {

// Exit codes of the dobj services: 0 after a drained stop.
constexpr int kExitStartFailed = 2;
// A turn ran past --max-turn-ms: the worker handed over what it could and exits for its
// supervisor to start a fresh process (the stuck thread cannot be stopped any other way).
constexpr int kExitStuckTurn = 4;

// SIGTERM and SIGINT, taken synchronously. Construct it first thing in main, before any library
// starts a thread, so that every thread inherits the blocked mask and none takes the signal.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // The signal if one arrived within the timeout, 0 otherwise.
  int wait_for(std::chrono::milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000),
                static_cast<long>((timeout.count() % 1000) * 1'000'000)};
    int sig = sigtimedwait(&set_, nullptr, &ts);
    return sig > 0 ? sig : 0;
  }
  // Blocks until SIGTERM/SIGINT (returns it) or until done() is true (returns 0).
  int wait_until_stopped(const std::function<bool()>& done,
                         std::chrono::milliseconds poll = std::chrono::milliseconds(200)) {
    while (!done()) {
      if (int sig = wait_for(poll)) return sig;
    }
    return 0;
  }
  int wait() {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }

 private:
  sigset_t set_;
};

}  // namespace dobj
