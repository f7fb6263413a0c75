#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "chaos_checks.hpp"
#include "dobj/client/nats_connection.hpp"

namespace dobj::chaos {

// Reads every reply the clients' inboxes receive (the development profile lets any client read
// `_INBOX.>`) and keeps, per reply subject, the first answer and any later one. A request answered
// twice means two workers took the same message, or one answered and ran it too: a client sees
// only the first answer, so when the truthful one came first no other check can notice the lie.
// Lifecycle: construct (subscribes) before the clients start; check() after they stopped.
class ReplyAuditor {
 public:
  explicit ReplyAuditor(const std::string& nats_url);
  // "no request answered twice", with the first such request's answers in order.
  CheckRow check();

 private:
  struct Answers {
    std::string first;
    std::uint32_t count = 0;
    std::string second;  // the first answer after `first`
  };
  void on_reply(natsMsg* msg);

  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  NatsConnection nats_;
  std::mutex mutex_;
  std::unordered_map<std::string, Answers> answers_;  // by reply subject
  std::uint64_t replies_ = 0;
  NatsSubscription sub_;  // last: unsubscribed before what its handler touches goes
};

}  // namespace dobj::chaos
