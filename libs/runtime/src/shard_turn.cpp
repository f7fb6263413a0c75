// A shard's turns: the ready objects' messages in order, activation, one message's turn, and
// the answers that need no turn (idempotency keys, deadlines). The loop is in shard.cpp.
#include <algorithm>

#include "dobj/core/logging.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/limits.hpp"
#include "shard.hpp"
#include "turn_sql.hpp"

namespace dobj {

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
    if (found && found->pending) {
      reply = protocol::error_reply(
          command.content_type,
          // Its first part ran and committed; the rest waits on the call: not known yet, and
          // asking again with the same key is safe.
          Error(ErrorCode::kUnknownOutcome,
                "this request is waiting on an awaited call it made; its outcome is not known "
                "yet: ask again with the same idempotency key"));
    } else if (found) {
      reply = protocol::reencoded(
          protocol::Reply{found->ok, protocol::content_type_from_header(found->content_type),
                          found->body},
          command.content_type);
    }
  }
  if (!reply) return false;
  auto request = command.info();
  reply->traceparent = request.traceparent;
  outputs_.push_back(Output{&inst, command.message.reply_to, std::move(*reply), {}, request});
  return true;
}

void Shard::remember_reply(Instance& inst, const std::optional<std::string>& key,
                           const protocol::Reply& reply, bool pending) {
  if (!key || key->empty()) return;
  inst.replies.push_back(
      {*key, reply.ok, protocol::content_type_header(reply.content_type), reply.body, pending});
}

template <typename Fn>
std::optional<Error> Shard::run_as_turn(Instance& inst, std::string_view trace,
                                        std::vector<Event>& events, bool* fenced, Fn&& fn,
                                        const CallRoute* route, bool* called) {
  TurnSql sql(store_.get(), inst.class_name, inst.object_id, inst.lease, inst.entered);
  std::vector<OutboundMessage> messages;
  inst.alarm->begin_turn(trace);
  Context ctx(inst.class_name, inst.object_id, *inst.kv, sql, *inst.alarm, events, messages);
  if (route) ctx.allow_calls(*inst.def, call_depth(route->chain));
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
  if (ok) queue_sends(inst, trace, messages, route);
  if (called) {
    *called = ok && std::any_of(messages.begin(), messages.end(),
                                [](const OutboundMessage& m) { return m.call.has_value(); });
  }
  return failure;
}

void Shard::queue_sends(Instance& inst, std::string_view trace,
                        std::vector<OutboundMessage>& messages, const CallRoute* route) {
  if (messages.empty()) return;  // most turns: no clock read
  // Numbered after the last committed one and those of this batch's earlier turns.
  auto created_at = to_epoch_micros(std::chrono::system_clock::now());
  for (auto& m : messages) {
    std::string call;
    if (m.call) {
      // Context::call refuses calls without a route, so there is one.
      CallRoute resume = *route;
      resume.then = std::move(m.call->then);
      resume.carry = std::move(m.call->carry);
      resume.deadline_us =
          created_at +
          std::chrono::duration_cast<std::chrono::microseconds>(m.call->timeout).count();
      call = protocol::encode_body(protocol::ContentType::kMsgpack, resume.to_value());
    }
    inst.sends.push_back(store::DurableMessage{
        inst.class_name, inst.object_id,
        inst.lease.outbox_seq + static_cast<std::int64_t>(inst.sends.size()) + 1, inst.partition,
        m.event, std::move(m.target_class), std::move(m.target_id), std::move(m.method),
        std::move(m.body), std::string(trace), 0, created_at, std::move(call)});
  }
}

void Shard::activate(Instance& inst) {
  std::vector<Event> events;
  bool fenced = false;
  auto failure = run_as_turn(inst, "", events, &fenced, [&](Context& ctx) {
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

void Shard::run_ready_objects() {
  // This iteration's objects become the batch the commit walks; ready_ collects the next one's.
  batch_.clear();
  batch_.swap(ready_);
  const auto& ready = batch_;
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
      --queued_;
      if (!answer_without_turn(*inst, *command)) run_message(*inst, *command);
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

namespace {

// Whether this request's turn is answered at once even when it makes an awaited call: an
// alarm's (the timer waits for no continuation) and a one-way message's (ctx.send: delivered by
// a courier, from its inbox, without a call chain). Their continuations answer no one, and the
// sender's next message does not wait for them.
bool answered_at_once(const ShardCommand& command) {
  return command.subject.method == kAlarmMethod ||
         (command.message.reply_to.starts_with(protocol::kSendInboxPrefix) &&
          !command.message.call_chain);
}

// The route an awaited call made by this message's turn resumes by: the reply this request
// waits for, or, for a continuation ($result), the route it resumed by, handed on.
CallRoute route_of(const ShardCommand& command, const Value& argument, bool resumed) {
  if (resumed) {
    return CallRoute::from_value(argument.is_object() ? argument.value("route", Value()) : Value());
  }
  CallRoute route;
  if (!answered_at_once(command)) {
    route.reply_to = command.message.reply_to;
    route.reply_type = protocol::content_type_header(command.content_type);
    route.reply_key = command.message.idempotency_key.value_or("");
  }
  route.chain = command.message.call_chain.value_or("");
  return route;
}

}  // namespace

void Shard::run_message(Instance& inst, ShardCommand& command) {
  Output out;
  out.instance = &inst;
  out.reply_to = command.message.reply_to;
  out.request = command.info();
  bool fenced = false;
  bool called = false;
  const bool resumed = command.subject.method == kResultMethod;
  auto reply_type = command.content_type;
  auto started = std::chrono::steady_clock::now();
  LogTraceScope trace_scope(command.trace.trace_id);
  std::optional<CallRoute> route;
  Value argument;
  try {
    argument = protocol::decode_body(command.content_type, command.message.body);
    route = route_of(command, argument, resumed);
  } catch (const Error& e) {
    out.reply = protocol::error_reply(command.content_type, e);
    out.reply.traceparent = out.request.traceparent;
    remember_reply(inst, command.message.idempotency_key, out.reply);
    outputs_.push_back(std::move(out));
    return;
  }
  if (resumed) {
    // The continuation answers the request that made the call; the courier hears "it is in".
    out.ack_to = command.message.reply_to;
    out.reply_to = route->reply_to;
    reply_type = protocol::content_type_from_header(route->reply_type);
  }
  auto failure = run_as_turn(
      inst, out.request.traceparent, out.events, &fenced,
      [&](Context& ctx) {
        if (command.subject.method == kAlarmMethod) {
          // The alarm that fired goes with this turn's commit, unless the handler sets another.
          if (!argument.is_object() || !argument.contains("due_at_us")) {
            throw Error(ErrorCode::kBadRequest, "$alarm needs {\"due_at_us\": n}");
          }
          auto due = argument["due_at_us"].get<store::EpochMicros>();
          if (inst.alarm->get() != due) {
            // Stale: the object set another time (or none) after the timer claimed this one.
            out.reply = protocol::ok_reply(reply_type, {{"skipped", true}});
            return;
          }
          inst.alarm->delete_if_due(due);
        }
        out.reply = protocol::ok_reply(reply_type, (*command.method)(*inst.object, ctx, argument));
      },
      &*route, &called);
  if (fenced) {
    // Someone else owns the object now: this turn never happened, and no reply may say otherwise.
    log_->warn("{}/{}: fenced at epoch {}", inst.class_name, inst.object_id, inst.lease.epoch);
    inst.phase = Phase::kFenced;
    return;
  }
  if (failure) {
    // The client has the error; operators may follow it in the logs, by its trace id.
    log_->debug("{}/{}.{}: {}: {}", inst.class_name, inst.object_id, out.request.method,
                to_string(failure->code()), failure->what());
    out.reply = protocol::error_reply(reply_type, *failure);
    // A handler that threw may have changed members: activate anew from storage as it was
    // before this turn.
    activate(inst);
  }
  if (config_.observer) {
    config_.observer->turn_ran(out.request.class_name, out.request.method,
                               std::chrono::steady_clock::now() - started);
  }
  out.reply.traceparent = out.request.traceparent;
  const std::optional<std::string> reply_key =
      route->reply_key.empty() ? std::nullopt : std::optional(route->reply_key);
  if (resumed) {
    // The outcome is used up whatever the continuation did: a retry of $result must not run it
    // again, so its answer is final even when retryable.
    remember_reply(inst, command.message.idempotency_key,
                   protocol::ok_reply(protocol::ContentType::kMsgpack, nullptr));
    if (called) {
      out.deferred = true;  // the next continuation answers
    } else {
      remember_reply(inst, reply_key, out.reply);
    }
  } else if (called && !answered_at_once(command)) {
    out.deferred = true;
    // Until the continuation answers, a retry of this request hears unknown_outcome.
    remember_reply(inst, reply_key, protocol::Reply{false, reply_type, ""}, true);
  } else if (!failure || !failure->retryable()) {
    // What the turn answered is final for its idempotency key, unless a retry may succeed.
    remember_reply(inst, command.message.idempotency_key, out.reply);
  }
  outputs_.push_back(std::move(out));
}

}  // namespace dobj
