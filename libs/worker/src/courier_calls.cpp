// The courier's awaited calls (ctx.call): each goes on its own, outside its sender's queue, to
// the callee and then, with its outcome, back to the caller as $result. The queue of one-way
// messages and events is in courier.cpp.
#include <algorithm>

#include "courier.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/protocol/trace_context.hpp"
#include "dobj/runtime/class_registry.hpp"
#include "dobj/store/outbox_store.hpp"

namespace dobj {
namespace {

// How long the courier's thread waits for the server to confirm the calls of a step.
constexpr std::chrono::milliseconds kCallFlushTimeout{1000};

Value error_outcome(ErrorCode code, const std::string& message) {
  return Value{{"ok", false},
               {"error", {{"code", std::string(to_string(code))}, {"message", message}}}};
}

}  // namespace

void Courier::add_call(store::DurableMessage m) {
  CallKey key{{m.sender_class, m.sender_id}, m.seq};
  if (calls_.count(key)) return;
  Call c;
  try {
    c.route = protocol::decode_body(protocol::ContentType::kMsgpack, m.call);
    c.deadline_us = c.route.at("deadline_us").get<std::int64_t>();
  } catch (const std::exception& e) {
    // Only a worker writes routes; one it cannot read is a bug to see, not to retry for ever.
    log_->error("call {}/{}#{}: unreadable route ({}): moved to dead_messages", m.sender_class,
                m.sender_id, m.seq, e.what());
    store_->bury(m, std::string(to_string(ErrorCode::kBadRequest)), "unreadable call route");
    outcomes_("dead");
    return;
  }
  c.message = std::move(m);
  c.next_try = clock_.now();
  calls_.emplace(std::move(key), std::move(c));
}

void Courier::send_calls() {
  auto now = clock_.now();
  auto now_us = wall_now_us();
  auto age_limit_us =
      now_us - std::chrono::duration_cast<std::chrono::microseconds>(config_.max_age).count();
  bool sent = false;
  for (auto it = calls_.begin(); it != calls_.end();) {
    auto& [key, c] = *it;
    if (!c.returning && now_us >= c.deadline_us) {
      // The callee may still apply it (its key keeps that to once): the caller hears so.
      call_outcome(
          c, error_outcome(ErrorCode::kTimeout,
                           "no answer from " + c.message.target_class + "." + c.message.method +
                               " in time; the call may or may not have been applied"));
    }
    if (c.returning && c.message.created_at < age_limit_us && !c.in_flight) {
      bury_call(c, ErrorCode::kTimeout, "the caller did not take the call's outcome in time");
      it = calls_.erase(it);
      continue;
    }
    // Unanswered for a while: ask again (the same key), still listening for the first answer.
    if (c.in_flight && now - c.sent_at >= config_.reply_timeout) c.in_flight = false;
    if (!c.in_flight && c.next_try <= now) {
      send_call(key, c);
      sent = sent || c.in_flight;
    }
    ++it;
  }
  if (sent && nats_.connected()) {
    // Someone waits on each of these: out now, not when the connection's flusher next runs
    // (about a millisecond per hop). Not confirmed is no loss: unanswered calls go again.
    try {
      nats_.flush(kCallFlushTimeout);
    } catch (const TransportError& e) {
      log_->debug("flushing calls: {}", e.what());
    }
  }
}

void Courier::send_call(const CallKey& key, Call& c) {
  const auto& m = c.message;
  std::map<std::string, std::string> headers{
      {protocol::kContentTypeHeader, protocol::kMsgpackContentType},
      {protocol::kSenderHeader, m.sender_class + "/" + m.sender_id}};
  if (!m.traceparent.empty()) headers[protocol::kTraceparentHeader] = m.traceparent;
  std::string subject;
  std::string body;
  if (!c.returning) {
    auto chain = c.route.value("chain", std::string());
    headers[protocol::kCallChainHeader] =
        (chain.empty() ? "" : chain + ",") + m.sender_class + "/" + m.sender_id;
    headers[protocol::kIdempotencyKeyHeader] = send_idempotency_key(m, "call");
    auto left_ms = std::max<std::int64_t>(1, (c.deadline_us - wall_now_us()) / 1000);
    headers[protocol::kTimeoutHeader] = std::to_string(left_ms);
    subject = protocol::inbound_subject(
        protocol::partition_of(m.target_class, m.target_id, config_.partitions), m.target_class,
        m.target_id, m.method);
    body = m.body;
  } else {
    headers[protocol::kIdempotencyKeyHeader] = send_idempotency_key(m, "result");
    subject = protocol::inbound_subject(
        protocol::partition_of(m.sender_class, m.sender_id, config_.partitions), m.sender_class,
        m.sender_id, kResultMethod);
    Value result = c.outcome;
    result["route"] = c.route;
    body = protocol::encode_body(protocol::ContentType::kMsgpack, result);
  }
  auto flight = next_flight_++;
  try {
    nats_.publish(subject, body, headers, inbox_ + std::to_string(flight));
  } catch (const TransportError& e) {
    call_retry_later(c, std::string("NATS: ") + e.what());
    return;
  }
  c.flights.push_back(flight);
  call_flights_[flight] = key;
  c.in_flight = true;
  c.sent_at = clock_.now();
}

void Courier::call_answered(const CallKey& key, Call& c, const Answer& a) {
  c.in_flight = false;
  if (a.no_responders) {
    call_retry_later(c, "no worker serves the partition");
    return;
  }
  try {
    auto value = protocol::parse_reply(a.status, a.content_type, a.body);
    c.failures = 0;
    if (!c.returning) {
      call_outcome(c, Value{{"ok", true}, {"value", std::move(value)}});
      return;
    }
    // The caller has the outcome (its continuation ran, or will not run twice): done.
    outcomes_("delivered");
    forget_flights(c);
    delivered_.push_back(std::move(c.message));
    calls_.erase(key);
  } catch (const Error& e) {
    std::string error = std::string(to_string(e.code())) + ": " + e.what();
    // unknown_outcome: the key makes asking again safe, and the answer then is certain.
    if (e.retryable() || e.code() == ErrorCode::kUnknownOutcome) {
      call_retry_later(c, error);
    } else if (!c.returning) {
      call_outcome(c, error_outcome(e.code(), e.what()));  // the callee's refusal or error
    } else {
      bury_call(c, e.code(), std::string("the caller refused its outcome: ") + e.what());
      calls_.erase(key);
    }
  }
}

void Courier::forget_flights(Call& c) {
  for (auto f : c.flights) call_flights_.erase(f);
  c.flights.clear();
}

void Courier::bury_call(Call& c, ErrorCode code, const std::string& error) {
  log_->warn("call {}/{}#{} is dead ({}: {}): moved to dead_messages", c.message.sender_class,
             c.message.sender_id, c.message.seq, to_string(code), error);
  store_->bury(c.message, std::string(to_string(code)), error);
  outcomes_("dead");
  forget_flights(c);
}

void Courier::call_outcome(Call& c, Value outcome) {
  // Answers to the call's requests from now on are late: the outcome is settled.
  forget_flights(c);
  c.outcome = std::move(outcome);
  c.returning = true;
  c.in_flight = false;
  c.failures = 0;
  c.next_try = clock_.now();
}

void Courier::call_retry_later(Call& c, const std::string& error) {
  c.in_flight = false;
  auto wait = backoff(c.failures);
  ++c.failures;
  ++c.message.attempts;
  c.next_try = clock_.now() + wait;
  outcomes_("retried");
  log_->debug("call {}/{}#{} to {}.{} ({}): {}; again in {} ms", c.message.sender_class,
              c.message.sender_id, c.message.seq, c.message.target_class, c.message.method,
              c.returning ? "handing back its outcome" : "waiting for the callee", error,
              wait.count());
  store_->failed_attempt(c.message, error, wait);
}

}  // namespace dobj
