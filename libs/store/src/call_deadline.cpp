#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "dobj/core/logging.hpp"
#include "dobj/store/connection_limits.hpp"
#include "dobj/store/database.hpp"

namespace dobj::store {
namespace {

// One thread per process watches every database call in progress. It lives for the whole
// process (never destroyed, so no exit-time race with it), polls every kPoll while calls come,
// and sleeps once a poll has passed without any.
class CallWatchdog {
 public:
  constexpr static std::chrono::milliseconds kPoll{100};

  static CallWatchdog& instance() {
    static auto* watchdog = new CallWatchdog();
    return *watchdog;
  }

  std::uint64_t watch(int fd, std::chrono::steady_clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    auto ticket = ++next_;
    calls_.emplace(ticket, Call{fd, deadline, false});
    watched_ = true;
    if (asleep_) wake_.notify_one();
    return ticket;
  }

  void unwatch(std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    calls_.erase(ticket);
  }

 private:
  struct Call {
    int fd;
    std::chrono::steady_clock::time_point deadline;
    bool cut;
  };

  CallWatchdog() : log_(logger("store")) {
    std::thread([this] { run(); }).detach();
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      // Asleep only after a whole poll without calls: a busy process's calls never wake this
      // thread (each wake cost the calling shard a futex call and this thread a context switch
      // per database call, about 5% of a shard's time in a hot inc).
      if (calls_.empty() && !watched_) {
        asleep_ = true;
        wake_.wait(lock, [this] { return !calls_.empty(); });
        asleep_ = false;
      }
      watched_ = false;
      wake_.wait_for(lock, kPoll);
      auto now = std::chrono::steady_clock::now();
      for (auto& [ticket, call] : calls_) {
        if (call.cut || now < call.deadline) continue;
        // The caller still holds the connection (it unwatches before closing it), so the
        // descriptor is still that connection's: shutting it down fails the blocked call.
        ::shutdown(call.fd, SHUT_RDWR);
        call.cut = true;
        log_->error("a database call ran past --pg-call-timeout-ms; its connection was cut");
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::uint64_t, Call> calls_;
  std::uint64_t next_ = 0;
  bool watched_ = false;  // a call began since the last poll
  bool asleep_ = false;   // waiting for a call, not polling
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

CallDeadline::CallDeadline(pqxx::connection& conn) {
  int fd = conn.sock();
  if (fd < 0) return;  // not connected: the call fails by itself
  ticket_ = CallWatchdog::instance().watch(
      fd, std::chrono::steady_clock::now() + ConnectionLimits::current().call_timeout);
}

CallDeadline::~CallDeadline() {
  if (ticket_ != 0) CallWatchdog::instance().unwatch(ticket_);
}

}  // namespace dobj::store
