#include "dobj/runtime/host.hpp"

#include <atomic>
#include <charconv>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "dobj/core/logging.hpp"
#include "dobj/core/periodic_task.hpp"
#include "dobj/core/text.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"
#include "partition_set.hpp"
#include "request_check.hpp"
#include "shard.hpp"
#include "shard_mailbox.hpp"

namespace dobj {

struct Host::Impl {
  HostConfig config;
  const ClassRegistry& registry;
  Outbox& outbox;
  zmq::context_t zmq{1};
  std::vector<std::unique_ptr<Shard>> shards;
  std::deque<ShardMailbox::Sender> mailboxes;  // one per shard, same index
  Clock& clock;
  PartitionSet owned;
  LeaseCheck lease_valid;
  std::atomic<store::WorkerId> worker_id;
  std::shared_ptr<spdlog::logger> log = logger("host");
  bool started = false;
  StuckTurn on_stuck;
  constexpr static std::chrono::milliseconds kTurnWatchdogPoll{100};
  std::unique_ptr<PeriodicTask> turn_watchdog;

  void check_turns() {
    for (std::size_t i = 0; i < shards.size(); ++i) {
      auto& shard = *shards[i];
      if (shard.abandoned()) continue;
      auto running = shard.turn_running_for();
      if (!running || *running <= config.max_turn) continue;
      mailboxes[i].close();  // later messages for it: `moved`
      auto object = shard.stuck_object();
      log->critical(
          "shard {}: a turn of {} has run {} ms, past the limit of {} ms; giving the "
          "shard up",
          i, object, std::chrono::duration_cast<std::chrono::milliseconds>(*running).count(),
          config.max_turn.count());
      shard.abandon();
      if (on_stuck) on_stuck(object);
    }
  }

  Impl(HostConfig c, const ClassRegistry& r, Outbox& o, Clock& k, LeaseCheck l)
      : config(std::move(c)),
        registry(r),
        outbox(o),
        clock(k),
        owned(config.partitions),
        lease_valid(std::move(l)),
        worker_id(config.worker_id) {}

  std::atomic<std::uint64_t> refused_replies{0};

  bool reply_allowed(const std::string& reply_to, const std::string& subject) const {
    // An awaited call's outcome ($result) comes from a worker's courier and nowhere else.
    if (subject.ends_with(std::string(".") + kResultMethod)) {
      return reply_to.starts_with(protocol::kSendInboxPrefix);
    }
    if (reply_to.empty()) return true;  // fire-and-forget
    if (reply_to.starts_with(protocol::kTimerInboxPrefix)) {
      return subject.ends_with(std::string(".") + kAlarmMethod);
    }
    // A worker delivering durable messages (ctx.send): only workers read that namespace, and its
    // subjects carry a random token per worker.
    if (reply_to.starts_with(protocol::kSendInboxPrefix)) return true;
    for (const auto& prefix : config.reply_prefixes) {
      if (reply_to.size() > prefix.size() && reply_to.compare(0, prefix.size(), prefix) == 0) {
        return true;
      }
    }
    return false;
  }

  // A worker that cannot prove its lease answers nothing (DESIGN.md §3): another worker may own
  // the partition by now and run the very message this one would call `moved` or `overloaded`.
  // The lease to prove is the one the message came in under: a later registration's proves
  // nothing about a message an earlier one's subscription received.
  bool may_answer(store::WorkerId registration) const {
    return lease_valid(registration != 0 ? registration : worker_id.load());
  }

  void reject(const InboundMessage& m, protocol::ContentType type, const Error& e,
              const protocol::TraceContext& trace) {
    if (!m.reply_to.empty() && may_answer(m.registration)) {
      auto reply = protocol::error_reply(type, e);
      reply.traceparent = trace.header();
      outbox.reply(m.reply_to, reply, Outbox::Delivery::kBuffered);
      // Before a class and method are known: no labels a client could choose.
      if (config.observer) {
        config.observer->replied("", "", to_string(e.code()), std::chrono::nanoseconds::zero());
      }
    }
  }

  void broadcast(ShardCommand::Kind kind, bool close,
                 std::shared_ptr<PartitionHandover> handover = nullptr, store::WorkerId id = 0) {
    for (auto& mailbox : mailboxes) {
      auto command = std::make_unique<ShardCommand>();
      command->kind = kind;
      command->handover = handover;
      command->worker_id = id;
      mailbox.send(std::move(command), close);
    }
  }
};

Host::Host(HostConfig config, const ClassRegistry& registry, Outbox& outbox, Clock& clock,
           LeaseCheck lease_valid)
    : impl_(std::make_unique<Impl>(std::move(config), registry, outbox, clock, lease_valid)) {
  auto& c = impl_->config;
  for (int i = 0; i < c.shards; ++i) {
    impl_->shards.push_back(
        std::make_unique<Shard>(i, impl_->zmq, c, impl_->owned, outbox, clock, lease_valid));
    impl_->mailboxes.emplace_back(impl_->zmq, impl_->shards.back()->endpoint(),
                                  static_cast<int>(c.max_object_queue * 64));
  }
}

Host::~Host() {
  if (impl_->started) stop();
  // A shard given up on may still be inside its turn: it, its socket and the ZeroMQ context
  // (whose end waits for every socket) are left to the process's exit.
  for (auto& shard : impl_->shards) {
    if (shard->abandoned() && !shard->finished()) {
      (void)impl_.release();
      return;
    }
  }
  for (auto& mailbox : impl_->mailboxes) mailbox.shut_down();
  impl_->shards.clear();
}

void Host::on_stuck_turn(StuckTurn on_stuck) {
  impl_->on_stuck = std::move(on_stuck);
}

void Host::start() {
  for (auto& shard : impl_->shards) shard->start();
  impl_->turn_watchdog = std::make_unique<PeriodicTask>(
      "turn-watchdog", Impl::kTurnWatchdogPoll, [impl = impl_.get()] { impl->check_turns(); });
  impl_->turn_watchdog->start();
  impl_->started = true;
}

void Host::dispatch(InboundMessage message) {
  const auto received = std::chrono::steady_clock::now();
  auto& impl = *impl_;
  // Held messages of a worker without a valid lease are neither run nor answered.
  if (!impl.may_answer(message.registration)) return;
  if (!impl.reply_allowed(message.reply_to, message.subject)) {
    // Neither run nor answered: the only answer would go where the client must not publish.
    constexpr std::uint64_t kLogEvery = 1000;
    if (impl.refused_replies++ % kLogEvery == 0) {
      impl.log->warn(
          "refused a request to {} with reply subject '{}' (outside the client inboxes; "
          "{} refused so far)",
          message.subject, message.reply_to, impl.refused_replies.load());
    }
    return;
  }
  auto command = std::make_unique<ShardCommand>();
  command->received = received;
  // The turn is a span of the request's trace, or the root of a new one.
  auto given =
      message.traceparent ? protocol::TraceContext::parse(*message.traceparent) : std::nullopt;
  command->trace = given ? given->child() : protocol::TraceContext::generate();
  try {
    if (!check_request(
            message, impl.registry, {impl.config.partitions, impl.config.max_body_bytes},
            impl.clock, [&](int p) { return impl.owned.contains(p); }, *command)) {
      return;  // the worker's own mapping probe
    }
  } catch (const Error& e) {
    impl.reject(message, command->content_type, e, command->trace);
    return;
  }
  auto type = command->content_type;
  command->message = std::move(message);
  auto index = protocol::fnv1a32(command->subject.object_id,
                                 protocol::fnv1a32(command->subject.class_name)) %
               impl.mailboxes.size();
  auto& mailbox = impl.mailboxes[index];
  if (!mailbox.try_send(command)) {
    impl.reject(command->message, type,
                mailbox.closed()
                    ? Error(ErrorCode::kMoved, "worker is stopping; retry")
                    : Error(ErrorCode::kOverloaded, "worker queue is full; retry later"),
                command->trace);
  }
}

void Host::stop() {
  if (!impl_->started) return;
  impl_->broadcast(ShardCommand::Kind::kStop, true);
  // The turn watchdog keeps watching meanwhile: a stuck shard is given up, not waited for.
  constexpr auto kStopPoll = std::chrono::milliseconds(5);
  for (auto& shard : impl_->shards) {
    while (!shard->finished() && !shard->abandoned()) std::this_thread::sleep_for(kStopPoll);
    if (shard->finished()) shard->join();
  }
  impl_->turn_watchdog->stop();
  impl_->started = false;
}

void Host::fence() {
  impl_->owned.clear();
  impl_->broadcast(ShardCommand::Kind::kFence, false);
}

void Host::rebind(store::WorkerId id) {
  impl_->worker_id = id;
  impl_->broadcast(ShardCommand::Kind::kRebind, false, nullptr, id);
}

void Host::serve_partitions(const std::vector<int>& partitions) {
  impl_->owned.set(partitions, true);
}

bool Host::hand_over_partitions(const std::vector<int>& partitions,
                                std::chrono::milliseconds timeout) {
  if (partitions.empty()) return true;
  impl_->owned.set(partitions, false);
  auto handover =
      std::make_shared<PartitionHandover>(std::set<int>(partitions.begin(), partitions.end()),
                                          static_cast<int>(impl_->mailboxes.size()));
  impl_->broadcast(ShardCommand::Kind::kHandOver, false, handover);
  return handover->wait(timeout);
}

std::uint64_t Host::refused_reply_subjects() const {
  return impl_->refused_replies.load();
}

std::vector<std::size_t> Host::queue_depths() const {
  std::vector<std::size_t> depths;
  for (const auto& shard : impl_->shards) depths.push_back(shard->queued());
  return depths;
}

std::vector<double> Host::running_turn_seconds() const {
  std::vector<double> seconds;
  for (const auto& shard : impl_->shards) {
    auto running = shard->turn_running_for();
    seconds.push_back(running ? std::chrono::duration<double>(*running).count() : 0.0);
  }
  return seconds;
}

std::size_t Host::active_objects() const {
  std::size_t n = 0;
  for (const auto& shard : impl_->shards) n += shard->active_objects();
  return n;
}

}  // namespace dobj
