#pragma once

#include <pthread.h>
#include <csignal>

namespace dobj::bench {

// SIGTERM/SIGINT taken synchronously: construct it before any library thread exists (so that no
// other thread takes the signal), then wait().
class StopSignal {
 public:
  StopSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  void wait() {
    int sig = 0;
    sigwait(&set_, &sig);
  }

 private:
  sigset_t set_;
};

}  // namespace dobj::bench
