#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

namespace dobj::testing {

// A TCP proxy on 127.0.0.1 in front of one process's connections to a server, to inject partial
// faults without root network tricks: freeze() stops forwarding in both directions while every
// connection stays open (a link that swallows traffic, or a server that hangs), thaw() lets the
// held bytes through, set_delay() adds latency to every forwarded chunk (a slow server), cut()
// closes every connection. New connections are accepted while frozen and held too.
class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  void freeze() { frozen_ = true; }
  void thaw() { frozen_ = false; }
  bool frozen() const { return frozen_; }
  void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  void cut() { cut_requested_ = true; }

 private:
  struct Impl;
  void run();

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};
  std::atomic<bool> frozen_{false};
  std::atomic<bool> cut_requested_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> delay_ms_{0};
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace dobj::testing
