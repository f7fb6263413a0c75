#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/clock.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/periodic_task.hpp"
#include "dobj/core/value.hpp"
#include "dobj/store/lazy_connection.hpp"
#include "dobj/store/object_store.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

namespace store {
class OutboxStore;
}

// The idempotency key a durable message is delivered with: send:<sha256(class \0 id)>:<seq>;
// an awaited call's: call:…, and its outcome's, handed back to the caller: result:….
std::string send_idempotency_key(const store::DurableMessage& message,
                                 std::string_view kind = "send");

// Delivers the durable messages of ctx.send (DESIGN.md §5) for the senders in this worker's
// partitions: each as a request with the idempotency key send:<class>/<id>/<seq>, so that the
// target applies it once however often it is sent. A sender's messages go one at a time in
// sequence order, the next only after the previous was answered: order per sender (and so per
// sender and target) holds even when two workers deliver the same sender during a handover.
//   ok, or a refusal for good (bad_request, no such class or method, handler_error, too_large)
//     → the row leaves dobj.outbox (a refusal to dobj.dead_messages);
//   no reply, no responders or a retryable error → again after a backoff, until max_age, then
//     dobj.dead_messages with `timeout` (max_age stays inside the targets' idempotency window).
// A durable event (ctx.publish_durable) in the queue is published to the sender's evt. subject
// with that key as Nats-Msg-Id, and done once a flush shows the server has it.
// An awaited call (ctx.call) does not wait in its sender's queue (a caller serves while it
// waits, and a call of its own made meanwhile must not wait behind the first: A→B→A): it goes
// at once, with the key call:…, its Dobj-Call-Chain and the time left as Dobj-Timeout-Ms; it is
// sent again while unanswered (the callee answers a resend from its stored reply, or "retry
// later" while it waits on calls of its own). Its outcome (the result, a refusal, or `timeout`
// at its deadline) then goes to the caller as $result with the key result:…, and the row goes
// once the caller has it.
// Fed by the shards' commits (messages_committed) and by a sweep of dobj.outbox for the owned
// partitions (a sender's former owner died, or a delivery was lost with a restart).
class Courier {
 public:
  struct Config {
    std::chrono::milliseconds sweep_interval{1000};
    std::chrono::milliseconds reply_timeout{5000};
    std::chrono::milliseconds first_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    // Within the idempotency keys' reply window (10 min by default), with room to spare.
    std::chrono::milliseconds max_age{5 * 60 * 1000};
    std::size_t sweep_limit = 1000;
    int partitions = 0;
    // Test hook: messages are committed but never delivered here (another worker's sweep must).
    bool paused = false;
  };

  // Told each delivery's outcome: "delivered", "retried" or "dead" (metrics).
  using OutcomeSink = std::function<void(const char*)>;

  Courier(Config config, store::ConnectionUrl database_url, NatsConnection& nats,
          std::function<store::WorkerId()> worker_id, Clock& clock, OutcomeSink outcomes);
  ~Courier();
  Courier(const Courier&) = delete;
  Courier& operator=(const Courier&) = delete;

  void start();
  void stop();
  // From any thread: messages a commit just stored.
  void messages_committed(std::vector<store::DurableMessage> messages);
  // The test hook: one step of the loop on the caller's thread.
  void step_now() { loop_->step_now(); }
  // Senders with messages not yet answered (in memory), for metrics and tests.
  std::size_t senders_pending() const;

 private:
  using SenderKey = std::pair<std::string, std::string>;
  struct Sender {
    std::deque<store::DurableMessage> queue;  // in seq order; the head is the one in flight
    std::int64_t highest = 0;                 // the highest seq queued or answered
    std::uint64_t flight = 0;                 // the head's request id while in flight
    Clock::TimePoint sent_at{};
    Clock::TimePoint next_try{};
    int failures = 0;  // consecutive, for the backoff
  };
  struct Answer {
    std::uint64_t flight = 0;
    bool no_responders = false;
    std::optional<std::string> status;
    std::optional<std::string> content_type;
    std::string body;
  };

  using CallKey = std::pair<SenderKey, std::int64_t>;
  struct Call {
    store::DurableMessage message;
    Value route;  // as stored; handed back with the outcome
    std::int64_t deadline_us = 0;
    bool returning = false;              // the outcome is known: handing it to the caller
    Value outcome;                       // {"ok", "value" | "error": {"code", "message"}}
    std::vector<std::uint64_t> flights;  // this phase's requests: an answer to any counts
    bool in_flight = false;
    Clock::TimePoint sent_at{};
    Clock::TimePoint next_try{};
    int failures = 0;
  };

  static std::int64_t wall_now_us();
  std::chrono::milliseconds step();
  std::chrono::milliseconds backoff(int failures) const;
  void add_call(store::DurableMessage message);
  void call_answered(const CallKey& key, Call& call, const Answer& answer);
  void call_retry_later(Call& call, const std::string& error);
  void call_outcome(Call& call, Value outcome);
  // Answers to the call's requests so far are late from now on.
  void forget_flights(Call& call);
  // The call (or its outcome) can never be delivered: to dobj.dead_messages. The caller erases it.
  void bury_call(Call& call, ErrorCode code, const std::string& error);
  void send_calls();
  void send_call(const CallKey& key, Call& call);
  void take_committed(std::vector<store::DurableMessage>& committed);
  // Hands each sender's consecutive run of `messages` (grouped by sender, in seq order) to add().
  void add_by_sender(std::vector<store::DurableMessage>& messages, bool from_database);
  // Adds messages of one sender in seq order, first reading from the database those it has not
  // seen between what it knows and the first given (a gap: another owner's, or a lost push).
  void add(const SenderKey& key, std::vector<store::DurableMessage> messages, bool from_database);
  void take_answers();
  void answered(Sender& sender, const Answer& answer);
  void retry_later(Sender& sender, const std::string& error);
  void bury(Sender& sender, const std::string& code, const std::string& error);
  void send_due();
  // A durable event goes out with a plain publish; the step's flush confirms it.
  void publish_event(const SenderKey& key, Sender& sender);
  void flush_events();
  void sweep();
  void ensure_store();

  Config config_;
  store::LazyConnection conn_;
  NatsConnection& nats_;
  std::function<store::WorkerId()> worker_id_;
  Clock& clock_;
  OutcomeSink outcomes_;
  std::shared_ptr<spdlog::logger> log_;
  std::string inbox_;
  NatsSubscription replies_;
  std::unique_ptr<store::OutboxStore> store_;  // on conn_ while it stays open
  std::map<SenderKey, Sender> senders_;
  std::map<SenderKey, std::int64_t> last_seq_;  // highest seq of senders that left senders_
  std::map<std::uint64_t, SenderKey> flights_;
  std::map<CallKey, Call> calls_;
  std::map<std::uint64_t, CallKey> call_flights_;
  std::uint64_t next_flight_ = 1;
  std::vector<store::DurableMessage> delivered_;  // removed from dobj.outbox once a step
  std::vector<SenderKey> flushing_;               // events published this step
  Clock::TimePoint next_sweep_{};
  mutable std::mutex mutex_;  // what other threads hand in
  std::vector<store::DurableMessage> committed_;
  std::vector<Answer> answers_;
  std::size_t pending_senders_ = 0;  // senders_.size() as of the last step
  std::unique_ptr<PeriodicTask> loop_;
};

}  // namespace dobj
