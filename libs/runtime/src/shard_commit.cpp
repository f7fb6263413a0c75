// A shard's batch commit and its output gate: nothing of a batch leaves before its commit, and
// nothing at all without the worker's lease.
#include "dobj/core/logging.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/subject.hpp"
#include "shard.hpp"

namespace dobj {
namespace {

std::chrono::nanoseconds since(std::chrono::steady_clock::time_point received) {
  if (received == std::chrono::steady_clock::time_point{}) return {};  // not a dispatched message
  return std::chrono::steady_clock::now() - received;
}

}  // namespace

void Shard::commit_and_flush() {
  if (abandoned_) return;  // run_once drops the batch
  bool batch_open = store_ && store_->in_batch();
  if (outputs_.empty() && !batch_open) return;
  if (!lease_valid()) {
    log_->error("shard {}: worker lease not valid; dropping {} replies and all objects", index_,
                outputs_.size());
    drop_all();
    return;
  }
  std::vector<Instance*> members;
  std::vector<store::ObjectCommit> commits;
  for (Instance* inst : batch_) {
    if (holds_lease(inst->phase) &&
        (inst->kv->has_pending() || inst->alarm->has_pending() || inst->entered ||
         !inst->replies.empty() || !inst->sends.empty())) {
      members.push_back(inst);
      auto [cleared, writes] = inst->kv->pending_writes();
      auto alarm = inst->alarm->pending_op();
      commits.push_back(store::ObjectCommit{
          inst->class_name, inst->object_id, inst->lease, cleared, std::move(writes), alarm.op,
          alarm.at, std::move(alarm.trace), std::move(inst->replies), std::move(inst->sends)});
    }
    inst->replies.clear();
    // Sends of an object that does not commit now (lost or fenced) were never committed.
    inst->sends.clear();
  }
  enum class State { kCommitted, kFenced, kFailed, kRejected };
  std::unordered_map<Instance*, std::string> rejections;
  std::unordered_map<Instance*, State> state;
  auto hint_horizon =
      std::chrono::duration_cast<std::chrono::microseconds>(
          (std::chrono::system_clock::now() + protocol::kAlarmWindow).time_since_epoch())
          .count();
  bool hint = false;
  std::vector<store::DurableMessage> committed_sends;
  std::optional<Error> commit_failure;
  if (!commits.empty() || batch_open) {
    try {
      auto started = std::chrono::steady_clock::now();
      auto outcomes = store_ ? store_->commit(commits)
                             : throw Error(ErrorCode::kStorageError, "no database connection");
      if (config_.observer) {
        config_.observer->committed(std::chrono::steady_clock::now() - started, commits.size());
      }
      for (std::size_t i = 0; i < members.size(); ++i) {
        Instance* inst = members[i];
        if (outcomes[i] == store::CommitOutcome::kCommitted) {
          state[inst] = State::kCommitted;
          inst->lease = commits[i].lease;
          inst->lease.outbox_seq += static_cast<std::int64_t>(commits[i].sends.size());
          for (auto& m : commits[i].sends) committed_sends.push_back(std::move(m));
          inst->kv->mark_committed();
          inst->alarm->mark_committed();
          if (commits[i].alarm_op == store::AlarmOp::kSet && commits[i].alarm_at < hint_horizon) {
            hint = true;
          }
        } else if (outcomes[i] == store::CommitOutcome::kRejected) {
          // Only this object failed; the rest of the batch committed without it.
          state[inst] = State::kRejected;
          rejections[inst] = commits[i].rejected;
          log_->error("{}/{}: the database refused its commit: {}", inst->class_name,
                      inst->object_id, commits[i].rejected);
        } else {
          state[inst] = State::kFenced;
          log_->warn("{}/{}: fenced at epoch {}; dropping it without replies", inst->class_name,
                     inst->object_id, commits[i].lease.epoch);
        }
      }
    } catch (const Error& e) {
      log_->error("shard {}: commit of {} objects failed: {}", index_, commits.size(), e.what());
      for (auto* inst : members) state[inst] = State::kFailed;
      commit_failure = e;
    }
  }
  for (Instance* inst : batch_) inst->entered = false;
  batch_.clear();
  // The output gate: everything below happens only after the commit above is durable.
  if (!lease_valid()) {
    drop_all();
    return;
  }
  // A few replies with nothing queued behind them have nothing to share a write with: they leave
  // now. Otherwise they are buffered, and flushed below once nothing waits.
  const bool lone = outputs_.size() <= config_.direct_replies && nothing_waiting();
  const auto delivery = lone ? Outbox::Delivery::kNow : Outbox::Delivery::kBuffered;
  bool buffered = !lone;
  for (auto& out : outputs_) {
    auto it = state.find(out.instance);
    if (it != state.end() && it->second == State::kFenced) continue;
    if (out.instance->phase == Phase::kFenced) continue;
    if (it != state.end() && it->second == State::kRejected) {
      reply_error(out.request, out.failure_to(), out.reply.content_type,
                  Error(ErrorCode::kStorageError, "the database refused this object's commit (" +
                                                      rejections[out.instance] +
                                                      "); the request was not applied"),
                  delivery);
      continue;
    }
    if (it != state.end() && it->second == State::kFailed) {
      // Only a commit known not to have happened may say "not applied".
      reply_error(
          out.request, out.failure_to(), out.reply.content_type,
          commit_failure->code() == ErrorCode::kUnknownOutcome
              ? Error(ErrorCode::kUnknownOutcome,
                      "the connection broke during the commit; the request may or may not "
                      "have been applied")
              : Error(ErrorCode::kStorageError, "commit failed; the request was not applied"),
          delivery);
      continue;
    }
    pass_output_gate(out, delivery);
    if (!out.events.empty()) buffered = true;  // events keep one connection's order
  }
  // Nothing else waits for this shard: what it buffered goes now (the outbox's own thread
  // flushes; this one does not wait), not when cnats' flusher next runs, up to 1 ms later. When
  // more messages wait, their replies follow within the next iteration and leave together.
  if (buffered && !outputs_.empty() && nothing_waiting()) outbox_.flush();
  outputs_.clear();
  if (hint) outbox_.alarm_hint();
  // Durable messages are in the database now: whoever delivers them (this worker at once, or
  // the sender's next owner) can.
  if (!committed_sends.empty()) outbox_.messages_committed(std::move(committed_sends));
  // Fenced objects belong to someone else now; failed ones reload from the database.
  for (auto& [inst, s] : state) {
    if (s != State::kCommitted) inst->phase = Phase::kLost;
  }
}

// The output gate: every reply and event of this shard leaves here and nowhere else, and only
// while the worker's lease is valid: without it another worker may own the partition by now and
// run the very message this one would answer (`moved`, `overloaded`, a result). Replies of turns
// pass only after their commit (commit_and_flush); refusals need no commit.
void Shard::pass_output_gate(const Output& out, Outbox::Delivery delivery) {
  if (!lease_valid()) return;
  if (!out.ack_to.empty()) {
    outbox_.reply(out.ack_to, protocol::ok_reply(protocol::ContentType::kMsgpack, nullptr),
                  delivery);
  }
  if (!out.reply_to.empty() && !out.deferred) {
    outbox_.reply(out.reply_to, out.reply, delivery);
    if (config_.observer) {
      config_.observer->replied(out.request.class_name, out.request.method,
                                out.reply.ok           ? "ok"
                                : out.reply.error_code ? to_string(*out.reply.error_code)
                                                       : "error",
                                since(out.request.received));
    }
  }
  for (const auto& event : out.events) {
    outbox_.event(
        protocol::event_subject(out.instance->class_name, out.instance->object_id, event.topic),
        protocol::encode_body(protocol::ContentType::kJson, event.payload),
        out.request.traceparent);
  }
}

void Shard::reply_error(const RequestInfo& request, const std::string& reply_to,
                        protocol::ContentType type, const Error& error, Outbox::Delivery delivery) {
  if (reply_to.empty()) return;
  auto reply = protocol::error_reply(type, error);
  reply.traceparent = request.traceparent;
  pass_output_gate(Output{nullptr, reply_to, std::move(reply), {}, request}, delivery);
}

}  // namespace dobj
