#include "shard.hpp"

#include <algorithm>

#include "dobj/core/logging.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/store/database.hpp"

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

Shard::Shard(int index, zmq::context_t& zmq, const HostConfig& config, Outbox& outbox, Clock& clock,
             std::function<bool()> lease_valid)
    : index_(index),
      endpoint_("inproc://dobj-shard-" + std::to_string(reinterpret_cast<std::uintptr_t>(this))),
      socket_(zmq, zmq::socket_type::pull),
      config_(config),
      outbox_(outbox),
      clock_(clock),
      lease_valid_(std::move(lease_valid)),
      log_(logger("shard")),
      last_sweep_(clock.now()) {
  socket_.set(zmq::sockopt::rcvhwm, 0);
  socket_.bind(endpoint_);
  ensure_connection();
}

Shard::~Shard() {
  join();
  // Commands still queued after the loop ended were never taken: free them.
  zmq::message_t msg;
  while (socket_.recv(msg, zmq::recv_flags::dontwait)) {
    delete *static_cast<ShardCommand**>(msg.data());
  }
}

void Shard::start() {
  thread_ = std::thread([this] {
    while (run_once(config_.tick)) {
    }
  });
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::ensure_connection() {
  if (conn_ && conn_->is_open() && store_->schemas_touched() < config_.max_schemas_per_connection) {
    return;
  }
  if (conn_ && conn_->is_open()) {
    log_->info("shard {}: recycling its database connection after {} schemas", index_,
               store_->schemas_touched());
  }
  store_.reset();
  conn_ = store::connect(config_.database_url);
  store_ = std::make_unique<store::ObjectStore>(*conn_, config_.worker_id);
}

bool Shard::run_once(std::chrono::milliseconds poll_timeout) {
  if (stopped_) return false;
  receive(ready_.empty(), poll_timeout);
  try {
    ensure_connection();
  } catch (const Error& e) {
    log_->warn("shard {}: {}", index_, e.what());
  }
  run_turns();
  commit_and_flush();
  evict_idle(false);
  if (stop_requested_ && ready_.empty()) {
    evict_idle(true);
    stopped_ = true;
  }
  active_count_ = objects_.size();
  return !stopped_;
}

void Shard::receive(bool wait, std::chrono::milliseconds timeout) {
  if (wait) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, timeout);
  }
  zmq::message_t msg;
  for (std::size_t n = 0; n < kMaxCommandsPerIteration; ++n) {
    if (!socket_.recv(msg, zmq::recv_flags::dontwait)) break;
    std::unique_ptr<ShardCommand> command(*static_cast<ShardCommand**>(msg.data()));
    switch (command->kind) {
      case ShardCommand::Kind::kStop:
        stop_requested_ = true;
        break;
      case ShardCommand::Kind::kFence:
        drop_all();
        break;
      case ShardCommand::Kind::kMessage:
        enqueue(std::move(command));
        break;
    }
  }
}

void Shard::enqueue(std::unique_ptr<ShardCommand> command) {
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
  for (Instance* inst : ready) {
    // A poisoned instance (fenced, failed commit, broken object) starts over from the database.
    if (inst->poisoned) inst->active = false;
    if (!inst->active && !activate(*inst)) continue;
    while (!inst->inbox.empty() && !inst->poisoned) {
      auto command = std::move(inst->inbox.front());
      inst->inbox.pop_front();
      run_turn(*inst, *command);
    }
    inst->last_active = clock_.now();
    if (!inst->inbox.empty()) ready_.push_back(inst);
  }
}

std::unique_ptr<KvState> Shard::make_kv(Instance& inst) {
  return std::make_unique<KvState>(KvState::Loader{
      [this, &inst](const std::string& key) { return store_->load(inst.lease, key); },
      [this, &inst] { return store_->load_all(inst.lease); },
  });
}

bool Shard::activate(Instance& inst) {
  inst.poisoned = false;
  std::optional<Error> failure;
  try {
    auto lease = store_ ? store_->claim(inst.class_name, inst.object_id, inst.partition)
                        : throw Error(ErrorCode::kStorageError, "no database connection");
    if (lease) {
      inst.lease = *lease;
      inst.kv = make_kv(inst);
      inst.active = true;
      rebuild(inst);
      if (!inst.poisoned) return true;
      failure = Error(ErrorCode::kHandlerError, "on_activate failed");
    } else {
      failure = Error(ErrorCode::kMoved, "object is not served by this worker right now; retry");
    }
  } catch (const Error& e) {
    failure = e;
  }
  // Fail every queued message; the instance goes with the next eviction sweep.
  for (auto& command : inst.inbox) {
    reply_error(command->message.reply_to, command->content_type, *failure);
  }
  inst.inbox.clear();
  inst.poisoned = true;
  return false;
}

void Shard::rebuild(Instance& inst) {
  std::vector<Event> events;
  Context ctx(inst.class_name, inst.object_id, *inst.kv, events);
  try {
    inst.object = inst.def->factory();
    inst.object->on_activate(ctx);
    inst.kv->end_turn(true);
  } catch (const std::exception& e) {
    inst.kv->end_turn(false);
    log_->error("{}/{}: on_activate threw: {}", inst.class_name, inst.object_id, e.what());
    inst.poisoned = true;
  }
}

void Shard::run_turn(Instance& inst, ShardCommand& command) {
  Output out;
  out.instance = &inst;
  out.reply_to = command.message.reply_to;
  Context ctx(inst.class_name, inst.object_id, *inst.kv, out.events);
  std::optional<Error> failure;
  try {
    Value argument = protocol::decode_body(command.content_type, command.message.body);
    Value result = (*command.method)(*inst.object, ctx, argument);
    out.reply = protocol::ok_reply(command.content_type, result);
    inst.kv->end_turn(true);
  } catch (const Error& e) {
    failure = e;
  } catch (const std::exception& e) {
    failure = Error(ErrorCode::kHandlerError, e.what());
  } catch (...) {
    failure = Error(ErrorCode::kHandlerError, "handler threw a non-standard exception");
  }
  if (failure) {
    inst.kv->end_turn(false);
    out.events.clear();
    out.reply = protocol::error_reply(command.content_type, *failure);
    // Bad input is rejected before the handler could change anything; a handler that threw may
    // have changed members, so it is rebuilt from storage as it was before this turn.
    rebuild(inst);
  }
  outputs_.push_back(std::move(out));
}

void Shard::commit_and_flush() {
  if (outputs_.empty()) return;
  if (!lease_valid_()) {
    log_->error("shard {}: worker lease not valid; dropping {} replies and all objects", index_,
                outputs_.size());
    outputs_.clear();
    drop_all();
    return;
  }
  std::vector<Instance*> dirty;
  std::vector<store::ObjectCommit> commits;
  for (auto& [key, inst] : objects_) {
    if (inst->active && inst->kv->has_pending()) {
      dirty.push_back(inst.get());
      commits.push_back(store::ObjectCommit{inst->class_name, inst->object_id, inst->lease,
                                            inst->kv->pending_writes()});
    }
  }
  enum class State { kClean, kCommitted, kFenced, kFailed };
  std::unordered_map<Instance*, State> state;
  if (!commits.empty()) {
    try {
      auto outcomes = store_ ? store_->commit(commits)
                             : throw Error(ErrorCode::kStorageError, "no database connection");
      for (std::size_t i = 0; i < dirty.size(); ++i) {
        bool ok = outcomes[i] == store::CommitOutcome::kCommitted;
        state[dirty[i]] = ok ? State::kCommitted : State::kFenced;
        if (ok) {
          dirty[i]->lease = commits[i].lease;
          dirty[i]->kv->mark_committed();
        } else {
          log_->warn("{}/{}: fenced at epoch {}; dropping it without replies", dirty[i]->class_name,
                     dirty[i]->object_id, commits[i].lease.epoch);
        }
      }
    } catch (const Error& e) {
      log_->error("shard {}: commit of {} objects failed: {}", index_, commits.size(), e.what());
      for (auto* inst : dirty) state[inst] = State::kFailed;
    }
  }
  // The output gate: everything below happens only after the commit above is durable.
  if (!lease_valid_()) {
    outputs_.clear();
    drop_all();
    return;
  }
  for (auto& out : outputs_) {
    auto it = state.find(out.instance);
    State s = it == state.end() ? State::kClean : it->second;
    if (s == State::kFenced) continue;
    if (s == State::kFailed) {
      auto type = out.reply.content_type;
      reply_error(out.reply_to, type,
                  Error(ErrorCode::kStorageError, "commit failed; the request was not applied"));
      continue;
    }
    send(out);
  }
  outputs_.clear();
  // Fenced objects belong to someone else now; failed ones reload from the database.
  for (auto& [inst, s] : state) {
    if (s == State::kFenced || s == State::kFailed) {
      inst->active = false;
      inst->poisoned = true;
    }
  }
}

void Shard::send(Output& out) {
  if (!out.reply_to.empty()) outbox_.reply(out.reply_to, out.reply);
  for (const auto& event : out.events) {
    outbox_.event(
        protocol::event_subject(out.instance->class_name, out.instance->object_id, event.topic),
        protocol::encode_body(protocol::ContentType::kJson, event.payload));
  }
}

void Shard::reply_error(const std::string& reply_to, protocol::ContentType type,
                        const Error& error) {
  if (!reply_to.empty()) outbox_.reply(reply_to, protocol::error_reply(type, error));
}

void Shard::evict_idle(bool everything) {
  auto now = clock_.now();
  if (!everything && now - last_sweep_ < config_.tick) return;
  last_sweep_ = now;
  std::vector<store::LeaseRef> leases;
  for (auto it = objects_.begin(); it != objects_.end();) {
    Instance& inst = *it->second;
    bool idle = now - inst.last_active >= config_.idle_timeout;
    bool evictable = inst.inbox.empty() && (!inst.kv || !inst.kv->has_pending());
    if (evictable && (everything || idle || inst.poisoned)) {
      if (inst.active) {
        leases.push_back({inst.class_name, inst.object_id, inst.lease.epoch});
      }
      it = objects_.erase(it);
    } else {
      ++it;
    }
  }
  if (leases.empty() || !store_) return;
  try {
    store_->release(leases);
    log_->debug("shard {}: released {} idle objects", index_, leases.size());
  } catch (const Error& e) {
    // The leases stay with this worker until it stops; a later claim by it bumps the epoch.
    log_->warn("shard {}: releasing {} objects failed: {}", index_, leases.size(), e.what());
  }
}

void Shard::drop_all() {
  outputs_.clear();
  ready_.clear();
  objects_.clear();
  active_count_ = 0;
}

}  // namespace dobj
