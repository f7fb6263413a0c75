#include "shard.hpp"

#include <algorithm>

#include "dobj/core/logging.hpp"
#include "dobj/core/thread_name.hpp"
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
      conn_(config.database_url),
      claim_conn_(config.database_url),
      last_sweep_(clock.now()) {
  ensure_connection();
}

Shard::~Shard() {
  join();  // the mailbox frees what was never taken
}

void Shard::start() {
  thread_ = std::thread([this] {
    name_this_thread("shard-" + std::to_string(index_));
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
    for (auto& out : outputs_)
      reply_error(out.request, out.reply_to, out.reply.content_type, moved);
    outputs_.clear();
  }
  std::lock_guard lock(mailbox_mutex_);
  auto next = [this] { return held_control_ ? std::move(held_control_) : mailbox_.take(); };
  while (auto command = next()) {
    if (command->kind == ShardCommand::Kind::kMessage) {
      reply_error(command->info(), command->message.reply_to, command->content_type, moved);
    } else if (command->kind == ShardCommand::Kind::kHandOver) {
      command->handover->done();  // nothing of this shard will be released: do not wait for it
    }
  }
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::ensure_connection() {
  // PostgreSQL never shrinks a backend's caches: every object schema a connection has touched
  // keeps ≈ 10 KB (docs/scaling.md). The connection is replaced once it has touched the limit
  // *and* at least kShedFactor times the objects the shard holds, i.e. once most of those caches
  // belong to objects gone from here. While its objects are still here, a new connection would
  // only touch them all again, cold (≈ 5× a warm upsert): with a working set beyond the limit
  // that replaced the connection over and over (10,000 objects spread over 2 shards: 0.7× the
  // naive baseline instead of 1.3×).
  constexpr std::size_t kShedFactor = 2;
  if (conn_.stale() || claim_conn_.stale()) {
    // The database is reached by another URL now (no batch or claim is open here).
    log_->info("shard {}: connecting to its database by its new URL", index_);
    claim_store_.reset();
    claim_conn_.reset();
    store_.reset();
    conn_.reset();
  }
  if (conn_.is_open() && store_) {
    auto touched = store_->schemas_touched();
    if (touched < config_.max_schemas_per_connection ||
        touched < kShedFactor * active_count_.load()) {
      return;
    }
    log_->info("shard {}: replacing its database connection after {} schemas ({} objects here)",
               index_, touched, active_count_.load());
    ++connection_replacements_;
  }
  store_.reset();
  conn_.reset();
  auto& conn = conn_.get();
  if (config_.audit_commits) {
    store::with_storage_errors("enabling the commit audit", [&] {
      pqxx::nontransaction(conn).exec0("SET dobj.audit_commits = 'on'");
    });
  }
  store_ = std::make_unique<store::ObjectStore>(conn, worker_id_, config_.prepared_commits);
  store_->set_reply_window(config_.reply_window);
}

void Shard::rebind(store::WorkerId id) {
  drop_all();
  worker_id_ = id;
  // The next iteration connects again with a store committing under the new id.
  store_.reset();
  conn_.reset();
  claim_store_.reset();
  claim_conn_.reset();
}

bool Shard::run_once(std::chrono::milliseconds poll_timeout) {
  if (stopped_) return false;
  receive(ready_.empty(), poll_timeout);
  // Held for the whole iteration except inside handlers (see run_as_turn()), so that abandon() can
  // answer the batch only while a handler runs.
  std::unique_lock batch(batch_mutex_);
  batch_lock_ = &batch;
  try {
    ensure_connection();
  } catch (const Error& e) {
    log_->warn("shard {}: {}", index_, e.what());
  }
  run_ready_objects();
  if (abandoned_) {
    // The stuck turn returned after the shard was given up: nothing of its batch may leave, and
    // nothing is released (the objects go with the worker's lease).
    drop_all();
    stopped_ = true;
    return false;
  }
  auto ahead = batch_.empty() ? std::nullopt : claim_ahead();
  commit_and_flush();
  settle_claims_ahead(std::move(ahead));
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
  if (held_control_) {
    handle(std::move(held_control_));
  } else if (wait) {
    mailbox_.wait(timeout);
  }
  for (std::size_t n = 0; n < kMaxCommandsPerIteration; ++n) {
    auto command = mailbox_.take();
    if (!command) break;
    handle(std::move(command));
  }
}

void Shard::receive_messages() {
  std::lock_guard lock(mailbox_mutex_);
  if (abandoned_ || held_control_) return;
  for (std::size_t n = 0; n < kMaxCommandsPerIteration; ++n) {
    auto command = mailbox_.take();
    if (!command) break;
    if (command->kind != ShardCommand::Kind::kMessage) {
      held_control_ = std::move(command);
      break;
    }
    enqueue(std::move(command));
  }
}

void Shard::handle(std::unique_ptr<ShardCommand> command) {
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

bool Shard::nothing_waiting() {
  if (!ready_.empty()) return false;
  std::lock_guard lock(mailbox_mutex_);
  return !mailbox_.has_waiting();
}

void Shard::enqueue(std::unique_ptr<ShardCommand> command) {
  // Dispatched under an earlier registration, it reached the shard after the rebind: neither run
  // nor answered (InboundMessage::registration).
  auto registration = command->message.registration;
  if (registration != 0 && registration != worker_id_) return;
  // A message dispatched before a handover command is still this shard's to finish; one that
  // raced past the dispatcher's check and came after it is not.
  int p = command->subject.partition;
  if (handed_over_.count(p) && owned_.contains(p)) handed_over_.erase(p);  // served again since
  if (handed_over_.count(p)) {
    reply_error(command->info(), command->message.reply_to, command->content_type,
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
    reply_error(command->info(), command->message.reply_to, command->content_type,
                Error(ErrorCode::kOverloaded, "object queue is full (" +
                                                  std::to_string(config_.max_object_queue) +
                                                  " messages); retry later"));
    return;
  }
  if (inst.inbox.empty()) ready_.push_back(&inst);
  inst.inbox.push_back(std::move(command));
  ++queued_;
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
    deactivate(inst);
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
    reply_error(command->info(), command->message.reply_to, command->content_type, error);
  }
  queued_ -= inst.inbox.size();
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
      deactivate(inst);
      it = objects_.erase(it);
    } else {
      ++it;
    }
  }
  give_back(leases, "idle");
}

void Shard::deactivate(Instance& inst) {
  if (!inst.object) return;
  try {
    inst.object->on_deactivate();
  } catch (const std::exception& e) {
    log_->warn("shard {}: {}.{} on_deactivate threw: {}", index_, inst.class_name, inst.object_id,
               e.what());
  }
  inst.object.reset();
}

void Shard::drop_all() {
  ++drops_;
  if (store_) store_->abort_batch();
  outputs_.clear();
  ready_.clear();
  batch_.clear();
  for (auto& [key, inst] : objects_) deactivate(*inst);
  objects_.clear();
  queued_ = 0;
  active_count_ = 0;
}

}  // namespace dobj
