#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "alarm_state.hpp"
#include "call_route.hpp"
#include "dobj/core/clock.hpp"
#include "dobj/runtime/host.hpp"
#include "dobj/store/lazy_connection.hpp"
#include "kv_state.hpp"
#include "partition_set.hpp"
#include "shard_command.hpp"
#include "shard_mailbox.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// One executor thread. It owns its objects and its database connection exclusively; commands
// arrive through its ShardMailbox. Each iteration: take every queued command, run one turn
// per queued message (objects in arrival order, each object's messages in order), commit all
// dirty objects in one transaction, and only then send the batch's replies and events.
class Shard {
 public:
  Shard(int index, zmq::context_t& zmq, const HostConfig& config, const PartitionSet& owned,
        Outbox& outbox, Clock& clock, Host::LeaseCheck lease_valid);
  ~Shard();

  const std::string& endpoint() const { return mailbox_.endpoint(); }
  void start();
  void join();
  // One iteration; the test hook of the loop. False once the shard has stopped.
  bool run_once(std::chrono::milliseconds poll_timeout);
  std::size_t active_objects() const { return active_count_.load(); }
  // How many times this shard has replaced its database connection to shed the caches of
  // objects it no longer holds (HostConfig::max_schemas_per_connection).
  std::size_t connection_replacements() const { return connection_replacements_.load(); }
  // Batches of objects claimed ahead, on the second connection while a commit ran.
  std::size_t claims_ahead() const { return claims_ahead_.load(); }
  // Messages in this shard's object queues, not yet run or answered.
  std::size_t queued() const { return queued_.load(); }

  // How long the running turn has taken so far; nullopt between turns. Thread-safe.
  std::optional<Clock::Duration> turn_running_for() const;
  // "Class/id" of the running turn's object: read only while that turn is stuck.
  std::string stuck_object() const;
  // Gives up on a shard stuck in a turn (the turn limit): what waits in its queue is answered
  // `moved` (it will never run here); if the turn ever returns, its batch is dropped without a
  // commit or a reply and the loop ends. The host refuses new messages for it. Thread-safe.
  void abandon();
  bool abandoned() const { return abandoned_.load(); }
  // The loop has ended (the thread can be joined at once).
  bool finished() const { return finished_.load(); }

 private:
  // Where an object instance is in its life (DESIGN.md §5). Unclaimed until its claim succeeds,
  // then active. A failed activation leaves it broken: it keeps its lease, and what earlier turns
  // of the batch wrote still commits. A failed claim or commit leaves it lost. A takeover found
  // mid-batch leaves it fenced: nothing of its batch may leave. Broken, lost and fenced instances
  // are claimed and activated anew before their next turn, or evicted.
  enum class Phase { kUnclaimed, kActive, kBroken, kLost, kFenced };
  static bool holds_lease(Phase p) { return p == Phase::kActive || p == Phase::kBroken; }
  static bool must_reload(Phase p) {
    return p == Phase::kBroken || p == Phase::kLost || p == Phase::kFenced;
  }

  struct Instance {
    const ClassDef* def = nullptr;
    std::string class_name;
    std::string object_id;
    int partition = 0;
    Phase phase = Phase::kUnclaimed;
    bool entered = false;  // in the current batch transaction (through SQL)
    store::ObjectLease lease;
    std::unique_ptr<Object> object;
    std::unique_ptr<KvState> kv;
    std::unique_ptr<AlarmState> alarm;
    std::deque<std::unique_ptr<ShardCommand>> inbox;
    Clock::TimePoint last_active;
    // Replies to idempotent requests of this batch, committed with it (and found by a duplicate
    // of the request in the same batch).
    std::vector<store::StoredReply> replies;
    // Durable messages of this batch's turns (Context::send), committed with it.
    std::vector<store::DurableMessage> sends;
  };
  struct Output {
    Instance* instance = nullptr;
    std::string reply_to;
    protocol::Reply reply;
    std::vector<Event> events;
    RequestInfo request{};
    // The turn made an awaited call: its continuation answers reply_to, this turn does not.
    bool deferred = false;
    // A continuation ($result turn): the courier's inbox, told that the outcome is in. Failures
    // of the commit go there (the courier hands the outcome in again), not to reply_to.
    std::string ack_to{};
    const std::string& failure_to() const { return ack_to.empty() ? reply_to : ack_to; }
  };

  // Claims of objects whose first messages came while a batch was committing: started before
  // that commit, on a second connection, and settled after it (HostConfig::claim_ahead).
  struct ClaimsAhead {
    std::vector<Instance*> instances;
    std::future<std::vector<std::optional<store::ObjectLease>>> leases;
    std::uint64_t drops = 0;  // drops_ when it started: the instances live while it is the same
  };

  void receive(bool wait, std::chrono::milliseconds timeout);
  // Takes the queued messages without waiting, up to the first control command, which waits
  // for the next receive(): a stop, fence, handover or rebind never lands mid-commit.
  void receive_messages();
  void handle(std::unique_ptr<ShardCommand> command);
  void enqueue(std::unique_ptr<ShardCommand> command);
  void run_ready_objects();
  // No message queued here: the next iteration would not produce more replies at once.
  bool nothing_waiting();
  void claim(const std::vector<Instance*>& instances);
  static store::ClaimRequest claim_request(const Instance& inst);
  // A claim's outcome: leases (one per instance) or the failure of the whole statement;
  // `ahead` only tells the observer which kind of claim it was.
  void settle_claims(const std::vector<Instance*>& instances,
                     const std::vector<std::optional<store::ObjectLease>>& leases,
                     const std::optional<Error>& failure, bool ahead);
  std::optional<ClaimsAhead> claim_ahead();
  void settle_claims_ahead(std::optional<ClaimsAhead> ahead);
  void fail_inbox(Instance& inst, const Error& error);
  // Object::on_deactivate for an instance leaving memory in good order.
  void deactivate(Instance& inst);
  // Finds the replies earlier attempts of idempotent requests got (one query for the batch).
  void find_stored_replies(const std::vector<Instance*>& instances);
  // Answers a command without a turn when it can (stored reply, duplicate, deadline passed).
  bool answer_without_turn(Instance& inst, ShardCommand& command);
  // Stores the reply under the request's idempotency key with the batch (none: nothing).
  void remember_reply(Instance& inst, const std::optional<std::string>& key,
                      const protocol::Reply& reply, bool pending = false);
  void finish_handovers();
  // Releases object leases (eviction, handover); a failure is logged, not fatal.
  void give_back(const std::vector<store::LeaseRef>& leases, const char* why);
  void rebind(store::WorkerId id);
  bool lease_valid() const { return lease_valid_(worker_id_); }
  void run_message(Instance& inst, ShardCommand& command);
  // Runs fn as a turn of inst (storage layer, SQL savepoint). Returns the failure, if any;
  // sets *fenced when the object turned out to be fenced. With a route the turn may make an
  // awaited call, which resumes by it; *called says whether it did.
  template <typename Fn>
  std::optional<Error> run_as_turn(Instance& inst, std::string_view trace,
                                   std::vector<Event>& events, bool* fenced, Fn&& fn,
                                   const CallRoute* route = nullptr, bool* called = nullptr);
  // A successful turn's durable messages join the instance's, numbered, for the batch's commit.
  void queue_sends(Instance& inst, std::string_view trace, std::vector<OutboundMessage>& messages,
                   const CallRoute* route);
  // Creates the object and runs on_activate as a turn; a failure leaves the instance broken.
  void activate(Instance& inst);
  void commit_and_flush();
  // The only way out for replies and events (see shard.cpp).
  void pass_output_gate(const Output& output,
                        Outbox::Delivery delivery = Outbox::Delivery::kBuffered);
  void reply_error(const RequestInfo& request, const std::string& reply_to,
                   protocol::ContentType type, const Error& error,
                   Outbox::Delivery delivery = Outbox::Delivery::kBuffered);
  void evict_idle(bool everything);
  void drop_all();
  void ensure_connection();
  std::unique_ptr<KvState> make_kv(Instance& inst);

  int index_;
  ShardMailbox::Receiver mailbox_;
  const HostConfig& config_;
  const PartitionSet& owned_;
  Outbox& outbox_;
  Clock& clock_;
  Host::LeaseCheck lease_valid_;
  store::WorkerId worker_id_;
  std::vector<std::shared_ptr<PartitionHandover>> handovers_;  // received, not yet finished
  std::set<int> handed_over_;  // handed over by this shard and not served again yet
  std::shared_ptr<spdlog::logger> log_;

  store::LazyConnection conn_;
  std::unique_ptr<store::ObjectStore> store_;  // on conn_ while it stays open
  // Opened on the first claim ahead; used only from the claiming task, which the loop awaits.
  store::LazyConnection claim_conn_;
  std::unique_ptr<store::ObjectStore> claim_store_;
  std::uint64_t drops_ = 0;  // drop_all() calls
  std::atomic<std::size_t> claims_ahead_{0};
  std::unique_ptr<ShardCommand> held_control_;  // taken by receive_messages(), not yet handled
  std::unordered_map<std::string, std::unique_ptr<Instance>> objects_;
  std::vector<Instance*> ready_;  // objects with queued messages, in arrival order
  // The objects this iteration ran turns for: the only ones with anything to commit, so the
  // commit never walks every object the shard holds (thousands, each iteration).
  std::vector<Instance*> batch_;
  std::vector<Output> outputs_;
  std::atomic<std::size_t> active_count_{0};
  std::atomic<std::size_t> connection_replacements_{0};
  std::atomic<std::size_t> queued_{0};  // the objects' inboxes, summed
  bool stop_requested_ = false;
  bool stopped_ = false;
  Clock::TimePoint last_sweep_;
  std::atomic<Clock::Duration::rep> turn_started_{0};  // 0 between turns
  std::atomic<const Instance*> turn_instance_{nullptr};
  std::atomic<bool> abandoned_{false};
  std::atomic<bool> finished_{false};
  std::mutex mailbox_mutex_;  // the loop and abandon() both take from the mailbox
  std::mutex batch_mutex_;    // the loop's batch, except while a handler runs; abandon() too
  std::unique_lock<std::mutex>* batch_lock_ = nullptr;  // run_once's hold of batch_mutex_
  std::thread thread_;
};

}  // namespace dobj
