#include "shard.hpp"

#include <algorithm>

#include "dobj/core/logging.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/store/database.hpp"
#include "turn_sql.hpp"

namespace dobj {
namespace {

// Bounds one iteration so that replies of a long queue start leaving early.
constexpr std::size_t kMaxCommandsPerIteration = 4096;

std::string object_key(const std::string& class_name, const std::string& object_id) {
  std::string key = class_name;
  key.push_back('\0');
  key.append(object_id);
  return key;
}

}  // namespace

Shard::Shard(int index, zmq::context_t& zmq, const HostConfig& config, const PartitionSet& owned,
             Outbox& outbox, Clock& clock, Host::LeaseCheck lease_valid)
    : index_(index),
      mailbox_(zmq,
               "inproc://dobj-shard-" + std::to_string(reinterpret_cast<std::uintptr_t>(this))),
      config_(config),
      owned_(owned),
      outbox_(outbox),
      clock_(clock),
      lease_valid_(std::move(lease_valid)),
      worker_id_(config.worker_id),
      log_(logger("shard")),
      last_sweep_(clock.now()) {
  ensure_connection();
}

Shard::~Shard() {
  join();  // the mailbox frees what was never taken
}

void Shard::start() {
  thread_ = std::thread([this] {
    while (true) {
      try {
        if (!run_once(config_.tick)) break;
      } catch (const std::exception& e) {
        // Nothing may end the loop but a stop: what the iteration held is dropped unanswered
        // (its outcome unknown to its clients) and the objects reload from the database.
        log_->error("shard {}: iteration failed, dropping its objects: {}", index_, e.what());
        drop_all();
      }
    }
    finished_ = true;
  });
}

std::optional<Clock::Duration> Shard::turn_running_for() const {
  auto started = turn_started_.load();
  if (started == 0) return std::nullopt;
  return clock_.now().time_since_epoch() - Clock::Duration(started);
}

std::string Shard::stuck_object() const {
  const Instance* inst = turn_instance_.load();
  return inst ? inst->class_name + "/" + inst->object_id : "?";
}

void Shard::abandon() {
  abandoned_ = true;
  const Error moved(ErrorCode::kMoved, "the object's worker is giving its objects up; retry");
  {
    // The loop is inside the stuck handler, so the batch is ours: what waits behind the stuck
    // turn will never run here, and the turns done before it will never commit.
    std::lock_guard batch(batch_mutex_);
    for (auto& [key, inst] : objects_) fail_inbox(*inst, moved);
    for (auto& out : outputs_) reply_error(out.reply_to, out.reply.content_type, moved);
    outputs_.clear();
  }
  std::lock_guard lock(mailbox_mutex_);
  while (auto command = mailbox_.take()) {
    if (command->kind == ShardCommand::Kind::kMessage) {
      reply_error(command->message.reply_to, command->content_type, moved);
    } else if (command->kind == ShardCommand::Kind::kHandOver) {
      command->handover->done();  // nothing of this shard will be released: do not wait for it
    }
  }
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::ensure_connection() {
  if (conn_ && conn_->is_open() && store_ &&
      store_->schemas_touched() < config_.max_schemas_per_connection) {
    return;
  }
  if (conn_ && conn_->is_open() && store_) {
    log_->info("shard {}: recycling its database connection after {} schemas", index_,
               store_->schemas_touched());
  }
  store_.reset();
  conn_ = store::connect(config_.database_url);
  if (config_.audit_commits) {
    store::with_storage_errors("enabling the commit audit", [&] {
      pqxx::nontransaction(*conn_).exec0("SET dobj.audit_commits = 'on'");
    });
  }
  store_ = std::make_unique<store::ObjectStore>(*conn_, worker_id_);
  store_->set_reply_window(config_.reply_window);
}

void Shard::rebind(store::WorkerId id) {
  drop_all();
  worker_id_ = id;
  // The next iteration connects again with a store committing under the new id.
  store_.reset();
  conn_.reset();
}

bool Shard::run_once(std::chrono::milliseconds poll_timeout) {
  if (stopped_) return false;
  receive(ready_.empty(), poll_timeout);
  // Held for the whole iteration except inside handlers (see turn()), so that abandon() can
  // answer the batch only while a handler runs.
  std::unique_lock batch(batch_mutex_);
  batch_lock_ = &batch;
  try {
    ensure_connection();
  } catch (const Error& e) {
    log_->warn("shard {}: {}", index_, e.what());
  }
  run_turns();
  if (abandoned_) {
    // The stuck turn returned after the shard was given up: nothing of its batch may leave, and
    // nothing is released (the objects go with the worker's lease).
    drop_all();
    stopped_ = true;
    return false;
  }
  commit_and_flush();
  finish_handovers();
  evict_idle(false);
  if (stop_requested_ && ready_.empty()) {
    evict_idle(true);
    stopped_ = true;
  }
  active_count_ = objects_.size();
  return !stopped_;
}

void Shard::receive(bool wait, std::chrono::milliseconds timeout) {
  std::lock_guard lock(mailbox_mutex_);
  if (abandoned_) return;
  if (wait) mailbox_.wait(timeout);
  for (std::size_t n = 0; n < kMaxCommandsPerIteration; ++n) {
    auto command = mailbox_.take();
    if (!command) break;
    switch (command->kind) {
      case ShardCommand::Kind::kStop:
        stop_requested_ = true;
        break;
      case ShardCommand::Kind::kFence:
        drop_all();
        break;
      case ShardCommand::Kind::kHandOver:
        for (int p : command->handover->partitions()) handed_over_.insert(p);
        handovers_.push_back(std::move(command->handover));
        break;
      case ShardCommand::Kind::kRebind:
        rebind(command->worker_id);
        break;
      case ShardCommand::Kind::kMessage:
        enqueue(std::move(command));
        break;
    }
  }
}

void Shard::enqueue(std::unique_ptr<ShardCommand> command) {
  // A message dispatched before a handover command is still this shard's to finish; one that
  // raced past the dispatcher's check and came after it is not.
  int p = command->subject.partition;
  if (handed_over_.count(p) && owned_.contains(p)) handed_over_.erase(p);  // served again since
  if (handed_over_.count(p)) {
    reply_error(command->message.reply_to, command->content_type,
                Error(ErrorCode::kMoved,
                      "partition " + std::to_string(p) + " is being handed over; retry"));
    return;
  }
  auto key = object_key(command->subject.class_name, command->subject.object_id);
  auto& slot = objects_[key];
  if (!slot) {
    slot = std::make_unique<Instance>();
    slot->def = command->def;
    slot->class_name = command->subject.class_name;
    slot->object_id = command->subject.object_id;
    slot->partition = command->subject.partition;
    slot->last_active = clock_.now();
  }
  Instance& inst = *slot;
  if (inst.inbox.size() >= config_.max_object_queue) {
    reply_error(command->message.reply_to, command->content_type,
                Error(ErrorCode::kOverloaded, "object queue is full (" +
                                                  std::to_string(config_.max_object_queue) +
                                                  " messages); retry later"));
    return;
  }
  if (inst.inbox.empty()) ready_.push_back(&inst);
  inst.inbox.push_back(std::move(command));
}

void Shard::run_turns() {
  std::vector<Instance*> ready;
  ready.swap(ready_);
  // Claims first, all in one statement: each must be durable on its own, before this batch's
  // transaction opens.
  std::vector<Instance*> to_claim;
  for (Instance* inst : ready) {
    if (inst->phase != Phase::kActive) to_claim.push_back(inst);
  }
  claim(to_claim);
  find_stored_replies(ready);
  for (Instance* inst : ready) {
    if (inst->phase != Phase::kActive) continue;
    if (!inst->object) {
      activate(*inst);
      if (inst->phase != Phase::kActive) {
        fail_inbox(*inst, Error(ErrorCode::kHandlerError, "on_activate failed"));
        continue;
      }
    }
    while (!inst->inbox.empty() && inst->phase == Phase::kActive && !abandoned_) {
      auto command = std::move(inst->inbox.front());
      inst->inbox.pop_front();
      if (!answer_without_turn(*inst, *command)) run_turn(*inst, *command);
    }
    inst->last_active = clock_.now();
    if (inst->phase != Phase::kActive) {
      // Fenced or broken mid-batch: what it did not run never ran, so a retry is safe.
      fail_inbox(*inst, Error(ErrorCode::kMoved, "object is being reloaded; retry"));
    } else if (!inst->inbox.empty()) {
      ready_.push_back(inst);
    }
  }
}

void Shard::find_stored_replies(const std::vector<Instance*>& instances) {
  std::vector<store::ReplyRef> refs;
  std::vector<ShardCommand*> commands;
  for (Instance* inst : instances) {
    if (inst->phase != Phase::kActive) continue;
    for (auto& command : inst->inbox) {
      if (!command->message.idempotency_key) continue;
      refs.push_back({inst->class_name, inst->object_id, *command->message.idempotency_key});
      commands.push_back(command.get());
    }
  }
  if (refs.empty()) return;
  try {
    if (!store_) throw Error(ErrorCode::kStorageError, "no database connection");
    auto found = store_->find_replies(refs);
    for (std::size_t i = 0; i < found.size(); ++i) commands[i]->stored = std::move(found[i]);
  } catch (const Error& e) {
    // Without the lookup a retry could run twice: nothing keyed runs this round.
    for (Instance* inst : instances) {
      bool keyed = std::any_of(inst->inbox.begin(), inst->inbox.end(), [](const auto& c) {
        return c->message.idempotency_key.has_value();
      });
      if (keyed) fail_inbox(*inst, e);
    }
  }
}

bool Shard::answer_without_turn(Instance& inst, ShardCommand& command) {
  std::optional<protocol::Reply> reply;
  const auto& key = command.message.idempotency_key;
  if (command.deadline && clock_.now() > *command.deadline) {
    reply = protocol::error_reply(
        command.content_type,
        Error(ErrorCode::kTimeout, "Dobj-Timeout-Ms ran out before the request's turn; not run"));
  } else if (key) {
    const store::StoredReply* found = command.stored ? &*command.stored : nullptr;
    for (const auto& r : inst.replies) {
      if (r.key == *key) found = &r;  // a duplicate within this batch
    }
    if (found) {
      reply = protocol::reencoded(
          protocol::Reply{found->ok, protocol::content_type_from_header(found->content_type),
                          found->body},
          command.content_type);
    }
  }
  if (!reply) return false;
  outputs_.push_back(Output{&inst, command.message.reply_to, std::move(*reply), {}});
  return true;
}

void Shard::remember_reply(Instance& inst, const ShardCommand& command,
                           const protocol::Reply& reply) {
  if (!command.message.idempotency_key) return;
  inst.replies.push_back({*command.message.idempotency_key, reply.ok,
                          protocol::content_type_header(reply.content_type), reply.body});
}

void Shard::finish_handovers() {
  if (handovers_.empty()) return;
  std::vector<store::LeaseRef> leases;
  for (auto it = objects_.begin(); it != objects_.end();) {
    Instance& inst = *it->second;
    bool covered = std::any_of(handovers_.begin(), handovers_.end(),
                               [&](const auto& r) { return r->covers(inst.partition); });
    if (!covered) {
      ++it;
      continue;
    }
    fail_inbox(inst, Error(ErrorCode::kMoved, "object is being handed over; retry"));
    ready_.erase(std::remove(ready_.begin(), ready_.end(), &inst), ready_.end());
    if (holds_lease(inst.phase)) {
      leases.push_back({inst.class_name, inst.object_id, inst.lease.epoch});
    }
    it = objects_.erase(it);
  }
  give_back(leases, "handed-over");
  for (auto& r : handovers_) r->done();
  handovers_.clear();
}

void Shard::give_back(const std::vector<store::LeaseRef>& leases, const char* why) {
  if (leases.empty() || !store_) return;
  try {
    store_->release(leases);
    log_->debug("shard {}: released {} {} objects", index_, leases.size(), why);
  } catch (const Error& e) {
    // The leases stay with this worker until it stops: a claim by another worker waits for
    // that (clients retry meanwhile), a later claim by this one bumps the epoch.
    log_->warn("shard {}: releasing {} {} objects failed: {}", index_, leases.size(), why,
               e.what());
  }
}

void Shard::fail_inbox(Instance& inst, const Error& error) {
  for (auto& command : inst.inbox) {
    reply_error(command->message.reply_to, command->content_type, error);
  }
  inst.inbox.clear();
}

std::unique_ptr<KvState> Shard::make_kv(Instance& inst) {
  return std::make_unique<KvState>(KvState::Loader{
      [this, &inst](const std::string& key) { return store_->load(inst.lease, key); },
      [this, &inst](const std::vector<std::string>& keys) {
        return store_->load_many(inst.lease, keys);
      },
      [this, &inst](const store::KeyRange& range) { return store_->load_range(inst.lease, range); },
  });
}

void Shard::claim(const std::vector<Instance*>& instances) {
  if (instances.empty()) return;
  if (!lease_valid()) {
    // Fenced or between registrations: claiming now would only bump epochs for nothing, and
    // another worker may own these messages' partitions by now, so they get no answer at all.
    for (auto* inst : instances) {
      inst->inbox.clear();
      inst->phase = Phase::kLost;
    }
    return;
  }
  std::vector<store::ClaimRequest> requests;
  for (auto* inst : instances) {
    inst->phase = Phase::kUnclaimed;
    inst->object.reset();
    requests.push_back({inst->class_name, inst->object_id, inst->partition});
  }
  std::vector<std::optional<store::ObjectLease>> leases;
  std::optional<Error> failure;
  try {
    if (!store_) throw Error(ErrorCode::kStorageError, "no database connection");
    leases = store_->claim_many(requests);
  } catch (const Error& e) {
    failure = e;
  }
  for (std::size_t i = 0; i < instances.size(); ++i) {
    Instance& inst = *instances[i];
    if (!failure && leases[i]) {
      inst.lease = *leases[i];
      inst.kv = make_kv(inst);
      inst.alarm = std::make_unique<AlarmState>(inst.lease.alarm);
      inst.phase = Phase::kActive;
      try {
        if (inst.def->eager_load) inst.kv->load_everything();
        continue;
      } catch (const Error& e) {
        fail_inbox(inst, e);
      }
    } else {
      fail_inbox(inst, failure ? *failure
                               : Error(ErrorCode::kMoved,
                                       "object is not served by this worker right now; retry"));
    }
    // The instance goes with the next eviction sweep.
    inst.phase = Phase::kLost;
  }
}

template <typename Fn>
std::optional<Error> Shard::turn(Instance& inst, std::vector<Event>& events, bool* fenced,
                                 Fn&& fn) {
  TurnSql sql(store_.get(), inst.class_name, inst.object_id, inst.lease, inst.entered);
  Context ctx(inst.class_name, inst.object_id, *inst.kv, sql, *inst.alarm, events);
  std::optional<Error> failure;
  if (store_) store_->begin_turn();
  turn_instance_ = &inst;
  turn_started_ = clock_.now().time_since_epoch().count();
  batch_lock_->unlock();
  try {
    fn(ctx);
  } catch (const TurnSql::Fenced&) {
  } catch (const Error& e) {
    failure = e;
  } catch (const std::exception& e) {
    failure = Error(ErrorCode::kHandlerError, e.what());
  } catch (...) {
    failure = Error(ErrorCode::kHandlerError, "handler threw a non-standard exception");
  }
  batch_lock_->lock();
  turn_started_ = 0;
  if (sql.failure() && !failure) {
    failure = Error(ErrorCode::kHandlerError, "SQL statement failed: " + *sql.failure());
  }
  *fenced = sql.fenced();
  bool ok = !failure && !*fenced;
  if (store_ && store_->in_batch()) {
    try {
      store_->end_turn(ok);
    } catch (const SqlError& e) {
      // The turn's SQL broke a deferred constraint: the turn is rolled back, the batch goes on.
      failure = Error(ErrorCode::kHandlerError, std::string("SQL statement failed: ") + e.what());
      ok = false;
    } catch (const Error& e) {
      // The batch transaction is broken; its commit fails and every turn in it with it.
      log_->error("{}/{}: ending its turn broke the batch: {}", inst.class_name, inst.object_id,
                  e.what());
      if (!failure) failure = e;
    }
  }
  inst.kv->end_turn(ok);
  inst.alarm->end_turn(ok);
  if (!ok) events.clear();
  return failure;
}

void Shard::activate(Instance& inst) {
  std::vector<Event> events;
  bool fenced = false;
  auto failure = turn(inst, events, &fenced, [&](Context& ctx) {
    inst.object = inst.def->factory();
    inst.object->on_activate(ctx);
  });
  if (failure || fenced) {
    log_->error("{}/{}: on_activate failed: {}", inst.class_name, inst.object_id,
                failure ? failure->what() : "fenced");
    inst.object.reset();
    inst.phase = Phase::kBroken;
  }
}

void Shard::run_turn(Instance& inst, ShardCommand& command) {
  Output out;
  out.instance = &inst;
  out.reply_to = command.message.reply_to;
  bool fenced = false;
  auto failure = turn(inst, out.events, &fenced, [&](Context& ctx) {
    Value argument = protocol::decode_body(command.content_type, command.message.body);
    if (command.subject.method == kAlarmMethod) {
      // The alarm that fired goes with this turn's commit, unless the handler sets another.
      if (!argument.is_object() || !argument.contains("due_at_us")) {
        throw Error(ErrorCode::kBadRequest, "$alarm needs {\"due_at_us\": n}");
      }
      auto due = argument["due_at_us"].get<store::EpochMicros>();
      if (inst.alarm->get() != due) {
        // Stale: the object set another time (or none) after the timer claimed this one.
        out.reply = protocol::ok_reply(command.content_type, {{"skipped", true}});
        return;
      }
      inst.alarm->delete_if_due(due);
    }
    out.reply =
        protocol::ok_reply(command.content_type, (*command.method)(*inst.object, ctx, argument));
  });
  if (fenced) {
    // Someone else owns the object now: this turn never happened, and no reply may say otherwise.
    log_->warn("{}/{}: fenced at epoch {}", inst.class_name, inst.object_id, inst.lease.epoch);
    inst.phase = Phase::kFenced;
    return;
  }
  if (failure) {
    out.reply = protocol::error_reply(command.content_type, *failure);
    // A handler that threw may have changed members: activate anew from storage as it was
    // before this turn.
    activate(inst);
  }
  // What the turn answered is final for its idempotency key, unless a retry may succeed.
  if (!failure || !failure->retryable()) remember_reply(inst, command, out.reply);
  outputs_.push_back(std::move(out));
}

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
  for (auto& [key, inst] : objects_) {
    if (holds_lease(inst->phase) && (inst->kv->has_pending() || inst->alarm->has_pending() ||
                                     inst->entered || !inst->replies.empty())) {
      members.push_back(inst.get());
      auto [cleared, writes] = inst->kv->pending_writes();
      auto [alarm_op, alarm_at] = inst->alarm->pending_op();
      commits.push_back(store::ObjectCommit{inst->class_name, inst->object_id, inst->lease, cleared,
                                            std::move(writes), alarm_op, alarm_at,
                                            std::move(inst->replies)});
    }
    inst->replies.clear();
  }
  enum class State { kCommitted, kFenced, kFailed, kRejected };
  std::unordered_map<Instance*, std::string> rejections;
  std::unordered_map<Instance*, State> state;
  auto hint_horizon =
      std::chrono::duration_cast<std::chrono::microseconds>(
          (std::chrono::system_clock::now() + protocol::kAlarmWindow).time_since_epoch())
          .count();
  bool hint = false;
  std::optional<Error> commit_failure;
  if (!commits.empty() || batch_open) {
    try {
      auto outcomes = store_ ? store_->commit(commits)
                             : throw Error(ErrorCode::kStorageError, "no database connection");
      for (std::size_t i = 0; i < members.size(); ++i) {
        Instance* inst = members[i];
        if (outcomes[i] == store::CommitOutcome::kCommitted) {
          state[inst] = State::kCommitted;
          inst->lease = commits[i].lease;
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
  for (auto& [key, inst] : objects_) inst->entered = false;
  // The output gate: everything below happens only after the commit above is durable.
  if (!lease_valid()) {
    drop_all();
    return;
  }
  for (auto& out : outputs_) {
    auto it = state.find(out.instance);
    if (it != state.end() && it->second == State::kFenced) continue;
    if (out.instance->phase == Phase::kFenced) continue;
    if (it != state.end() && it->second == State::kRejected) {
      reply_error(out.reply_to, out.reply.content_type,
                  Error(ErrorCode::kStorageError, "the database refused this object's commit (" +
                                                      rejections[out.instance] +
                                                      "); the request was not applied"));
      continue;
    }
    if (it != state.end() && it->second == State::kFailed) {
      // Only a commit known not to have happened may say "not applied".
      reply_error(
          out.reply_to, out.reply.content_type,
          commit_failure->code() == ErrorCode::kUnknownOutcome
              ? Error(ErrorCode::kUnknownOutcome,
                      "the connection broke during the commit; the request may or may not "
                      "have been applied")
              : Error(ErrorCode::kStorageError, "commit failed; the request was not applied"));
      continue;
    }
    pass_output_gate(out);
  }
  outputs_.clear();
  if (hint) outbox_.alarm_hint();
  // Fenced objects belong to someone else now; failed ones reload from the database.
  for (auto& [inst, s] : state) {
    if (s != State::kCommitted) inst->phase = Phase::kLost;
  }
}

// The output gate: every reply and event of this shard leaves here and nowhere else, and only
// while the worker's lease is valid: without it another worker may own the partition by now and
// run the very message this one would answer (`moved`, `overloaded`, a result). Replies of turns
// pass only after their commit (commit_and_flush); refusals need no commit.
void Shard::pass_output_gate(const Output& out) {
  if (!lease_valid()) return;
  if (!out.reply_to.empty()) outbox_.reply(out.reply_to, out.reply);
  for (const auto& event : out.events) {
    outbox_.event(
        protocol::event_subject(out.instance->class_name, out.instance->object_id, event.topic),
        protocol::encode_body(protocol::ContentType::kJson, event.payload));
  }
}

void Shard::reply_error(const std::string& reply_to, protocol::ContentType type,
                        const Error& error) {
  if (reply_to.empty()) return;
  pass_output_gate(Output{nullptr, reply_to, protocol::error_reply(type, error), {}});
}

void Shard::evict_idle(bool everything) {
  auto now = clock_.now();
  if (!everything && now - last_sweep_ < config_.tick) return;
  last_sweep_ = now;
  std::vector<store::LeaseRef> leases;
  for (auto it = objects_.begin(); it != objects_.end();) {
    Instance& inst = *it->second;
    bool idle = now - inst.last_active >= config_.idle_timeout;
    // An inactive instance's pending writes died with its lease.
    bool evictable =
        inst.inbox.empty() &&
        (!holds_lease(inst.phase) || (!inst.kv->has_pending() && !inst.alarm->has_pending()));
    if (evictable && (everything || idle || must_reload(inst.phase))) {
      if (holds_lease(inst.phase)) {
        leases.push_back({inst.class_name, inst.object_id, inst.lease.epoch});
      }
      it = objects_.erase(it);
    } else {
      ++it;
    }
  }
  give_back(leases, "idle");
}

void Shard::drop_all() {
  if (store_) store_->abort_batch();
  outputs_.clear();
  ready_.clear();
  objects_.clear();
  active_count_ = 0;
}

}  // namespace dobj
