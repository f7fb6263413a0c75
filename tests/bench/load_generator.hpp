#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace dobj::bench {

// One load run: `slots` requests kept in flight (closed loop), or `rate` requests per second
// sent whatever the replies (open loop, at most `slots` in flight before it counts as shed).
struct LoadSpec {
  std::string name;
  std::string nats_url;
  int slots = 1;
  double rate = 0;  // > 0: open loop
  std::chrono::milliseconds duration{5000};
  std::chrono::milliseconds warmup{500};
  std::chrono::milliseconds timeout{5000};
  // > 0: send exactly this many requests (ids 0..n-1), measure all of them, and end when every
  // one is answered or timed out; duration and warmup are then ignored.
  std::uint64_t max_requests = 0;
  std::function<std::string(std::uint64_t request)> subject;
  std::string body;
  std::function<std::string(std::uint64_t request)> body_for;  // overrides body when set
  std::map<std::string, std::string> headers;
};

struct LoadResult {
  std::string name;
  std::uint64_t completed = 0;  // answered within the measured window
  // Answered without an error at any time: a scenario that completed nothing in its window but
  // answered requests has a working service on a machine too busy for the window.
  std::uint64_t answered = 0;
  std::uint64_t errors = 0;    // replies with Dobj-Status: error
  std::uint64_t timeouts = 0;  // no reply within the timeout
  double seconds = 0;
  double throughput = 0;  // completed per second
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

// Runs the load on its own NATS connections; stops by itself after warmup + duration.
LoadResult run_load(const LoadSpec& spec);

}  // namespace dobj::bench
