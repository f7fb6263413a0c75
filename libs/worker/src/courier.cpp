#include "courier.hpp"

#include <algorithm>
#include <random>
#include <tuple>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/core/names.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/protocol/trace_context.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/outbox_store.hpp"

namespace dobj {
namespace {

// The loop's wait when nothing is due sooner, and after a step that failed (the database).
constexpr std::chrono::milliseconds kIdleWait{1000};
constexpr std::chrono::milliseconds kAfterFailure{500};
// Durable events are done once the server has them: a flush, this long at most.
constexpr std::chrono::milliseconds kEventFlushTimeout{2000};
// Senders whose queues ran empty whose last sequence number is remembered (saving a read of the
// outbox on their next message); beyond this many the memory starts afresh.
constexpr std::size_t kRememberedSenders = 100'000;
// The flight of an event between its publish and the step's flush.
constexpr std::uint64_t kEventFlight = ~std::uint64_t{0};

std::string random_token() {
  std::mt19937_64 random{std::random_device{}()};
  return std::to_string(random());
}

}  // namespace

std::int64_t Courier::wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string send_idempotency_key(const store::DurableMessage& m, std::string_view kind) {
  // The sender hashed: a class and an id can be longer together than a key may be.
  return std::string(kind) + ":" + sha256_hex(m.sender_class + '\0' + m.sender_id) + ":" +
         std::to_string(m.seq);
}

Courier::Courier(Config config, store::ConnectionUrl database_url, NatsConnection& nats,
                 std::function<store::WorkerId()> worker_id, Clock& clock, OutcomeSink outcomes)
    : config_(config),
      conn_(std::move(database_url)),
      nats_(nats),
      worker_id_(std::move(worker_id)),
      clock_(clock),
      outcomes_(std::move(outcomes)),
      log_(logger("courier")) {
  loop_ = std::make_unique<PeriodicTask>(
      "courier", [this] { return step(); }, kAfterFailure);
}

Courier::~Courier() {
  stop();
}

void Courier::start() {
  inbox_ = std::string(protocol::kSendInboxPrefix) + random_token() + ".";
  replies_ = nats_.subscribe(inbox_ + "*", [this](natsMsg* raw) {
    auto msg = NatsMessage::from(raw);
    nats_.retire(raw);
    Answer a;
    a.flight = std::strtoull(msg.subject.c_str() + inbox_.size(), nullptr, 10);
    a.no_responders = msg.no_responders;
    a.status = msg.header(protocol::kStatusHeader);
    a.content_type = msg.header(protocol::kContentTypeHeader);
    a.body = std::move(msg.body);
    {
      std::lock_guard lock(mutex_);
      answers_.push_back(std::move(a));
    }
    loop_->wake();
  });
  next_sweep_ = clock_.now();
  if (!config_.paused) loop_->start();
}

void Courier::stop() {
  // What is not delivered stays in dobj.outbox: the partition's next owner sweeps it.
  loop_->stop();
  replies_ = NatsSubscription();
}

void Courier::messages_committed(std::vector<store::DurableMessage> messages) {
  {
    std::lock_guard lock(mutex_);
    for (auto& m : messages) committed_.push_back(std::move(m));
  }
  loop_->wake();
}

std::size_t Courier::senders_pending() const {
  std::lock_guard lock(mutex_);
  return pending_senders_;
}

void Courier::ensure_store() {
  if (store_ && conn_.is_open() && !conn_.stale()) return;
  store_.reset();
  store_ = std::make_unique<store::OutboxStore>(conn_.get());
}

std::chrono::milliseconds Courier::step() {
  ensure_store();
  std::vector<store::DurableMessage> committed;
  {
    std::lock_guard lock(mutex_);
    committed.swap(committed_);
  }
  take_committed(committed);
  take_answers();
  if (clock_.now() >= next_sweep_) {
    sweep();
    next_sweep_ = clock_.now() + config_.sweep_interval;
  }
  send_due();
  send_calls();
  store_->delivered(delivered_);
  delivered_.clear();
  // Senders whose queue ran empty leave; their last sequence number stays a while.
  auto next = next_sweep_;
  for (auto it = senders_.begin(); it != senders_.end();) {
    auto& s = it->second;
    if (s.queue.empty()) {
      if (last_seq_.size() >= kRememberedSenders) last_seq_.clear();
      last_seq_[it->first] = s.highest;
      it = senders_.erase(it);
      continue;
    }
    next = std::min(next, s.flight ? s.sent_at + config_.reply_timeout : s.next_try);
    ++it;
  }
  auto now_us = wall_now_us();
  for (const auto& [key, c] : calls_) {
    next = std::min(next, c.in_flight ? c.sent_at + config_.reply_timeout : c.next_try);
    if (!c.returning) {
      // Its timeout is due on the wall clock: wake then, not a reply timeout later.
      next = std::min(next, clock_.now() + std::chrono::microseconds(c.deadline_us - now_us));
    }
  }
  {
    std::lock_guard lock(mutex_);
    pending_senders_ = senders_.size() + calls_.size();
  }
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock_.now());
  return std::clamp(wait, std::chrono::milliseconds(1), kIdleWait);
}

void Courier::take_committed(std::vector<store::DurableMessage>& committed) {
  // Per sender, in seq order (a shard's commit hands them in order; several shards interleave).
  std::stable_sort(committed.begin(), committed.end(), [](const auto& a, const auto& b) {
    return std::tie(a.sender_class, a.sender_id, a.seq) <
           std::tie(b.sender_class, b.sender_id, b.seq);
  });
  add_by_sender(committed, false);
}

void Courier::add_by_sender(std::vector<store::DurableMessage>& messages, bool from_database) {
  for (std::size_t i = 0; i < messages.size();) {
    SenderKey key{messages[i].sender_class, messages[i].sender_id};
    std::vector<store::DurableMessage> run;
    for (; i < messages.size() && messages[i].sender_class == key.first &&
           messages[i].sender_id == key.second;
         ++i) {
      run.push_back(std::move(messages[i]));
    }
    add(key, std::move(run), from_database);
  }
}

void Courier::add(const SenderKey& key, std::vector<store::DurableMessage> messages,
                  bool from_database) {
  if (messages.empty()) return;
  auto [it, fresh] = senders_.try_emplace(key);
  auto& s = it->second;
  if (fresh) {
    s.next_try = clock_.now();
    // Sequence numbers are the sender's own: what this worker answered up to stays answered.
    if (auto known = last_seq_.find(key); known != last_seq_.end()) {
      s.highest = known->second;
      last_seq_.erase(known);
    }
  }
  if (!from_database && messages.front().seq != s.highest + 1) {
    // Messages the database has and this worker has not seen may come before these.
    auto earlier = store_->pending_of(key.first, key.second, s.highest, messages.front().seq);
    messages.insert(messages.begin(), std::make_move_iterator(earlier.begin()),
                    std::make_move_iterator(earlier.end()));
  }
  for (auto& m : messages) {
    if (m.seq <= s.highest) continue;  // queued or answered already
    s.highest = m.seq;
    if (m.call.empty()) {
      s.queue.push_back(std::move(m));
    } else {
      add_call(std::move(m));
    }
  }
}

void Courier::sweep() {
  // Ordered by sender and seq; add() keeps only what lies beyond what it holds already.
  auto rows = store_->pending(worker_id_(), config_.sweep_limit);
  add_by_sender(rows, true);
}

void Courier::take_answers() {
  std::vector<Answer> answers;
  {
    std::lock_guard lock(mutex_);
    answers.swap(answers_);
  }
  for (const auto& a : answers) {
    if (auto c = call_flights_.find(a.flight); c != call_flights_.end()) {
      auto key = c->second;
      if (auto call = calls_.find(key); call != calls_.end()) call_answered(key, call->second, a);
      continue;
    }
    auto f = flights_.find(a.flight);
    if (f == flights_.end()) continue;  // timed out and sent again already
    auto s = senders_.find(f->second);
    flights_.erase(f);
    if (s == senders_.end() || s->second.flight != a.flight) continue;
    answered(s->second, a);
  }
  // No answer in time: the target may or may not have it; the same key makes a resend safe.
  auto now = clock_.now();
  for (auto& [key, s] : senders_) {
    if (s.flight && s.flight != kEventFlight && now - s.sent_at >= config_.reply_timeout) {
      flights_.erase(s.flight);
      retry_later(s, "no reply within " + std::to_string(config_.reply_timeout.count()) + " ms");
    }
  }
}

void Courier::answered(Sender& s, const Answer& a) {
  s.flight = 0;
  if (a.no_responders) {
    retry_later(s, "no worker serves the target's partition");
    return;
  }
  try {
    protocol::parse_reply(a.status, a.content_type, a.body);
    s.failures = 0;
    outcomes_("delivered");
    delivered_.push_back(std::move(s.queue.front()));
    s.queue.pop_front();
  } catch (const Error& e) {
    std::string error = std::string(to_string(e.code())) + ": " + e.what();
    // unknown_outcome: the key makes asking again safe, and the answer then is certain.
    if (e.retryable() || e.code() == ErrorCode::kUnknownOutcome) {
      retry_later(s, error);
    } else {
      bury(s, std::string(to_string(e.code())), e.what());
    }
  }
}

std::chrono::milliseconds Courier::backoff(int failures) const {
  return std::min(config_.max_backoff, config_.first_backoff * (1 << std::min(failures, 16)));
}

void Courier::retry_later(Sender& s, const std::string& error) {
  s.flight = 0;
  auto& m = s.queue.front();
  auto backoff = this->backoff(s.failures);
  ++s.failures;
  ++m.attempts;
  s.next_try = clock_.now() + backoff;
  outcomes_("retried");
  log_->debug("message {}/{}#{} to {}.{}: {}; again in {} ms", m.sender_class, m.sender_id, m.seq,
              m.target_class, m.target_id, error, backoff.count());
  store_->failed_attempt(m, error, backoff);
}

void Courier::bury(Sender& s, const std::string& code, const std::string& error) {
  auto& m = s.queue.front();
  log_->warn("message {}/{}#{} to {}.{}.{} is dead ({}: {}): moved to dead_messages",
             m.sender_class, m.sender_id, m.seq, m.target_class, m.target_id, m.method, code,
             error);
  store_->bury(m, code, error);
  outcomes_("dead");
  s.queue.pop_front();
  s.failures = 0;
  s.next_try = clock_.now();
}

void Courier::send_due() {
  auto now = clock_.now();
  auto age_limit_us =
      wall_now_us() -
      std::chrono::duration_cast<std::chrono::microseconds>(config_.max_age).count();
  for (auto& [key, s] : senders_) {
    while (!s.queue.empty() && !s.flight && s.next_try <= now &&
           s.queue.front().created_at < age_limit_us) {
      bury(s, std::string(to_string(ErrorCode::kTimeout)),
           "not delivered within " + std::to_string(config_.max_age.count() / 1000) +
               " s; it may or may not have been applied");
    }
    if (s.queue.empty() || s.flight || s.next_try > now) continue;
    const auto& m = s.queue.front();
    if (m.event) {
      publish_event(key, s);
      continue;
    }
    std::map<std::string, std::string> headers{
        {protocol::kContentTypeHeader, protocol::kMsgpackContentType},
        {protocol::kIdempotencyKeyHeader, send_idempotency_key(m)},
        {protocol::kSenderHeader, m.sender_class + "/" + m.sender_id}};
    if (!m.traceparent.empty()) headers[protocol::kTraceparentHeader] = m.traceparent;
    auto flight = next_flight_++;
    try {
      nats_.publish(protocol::inbound_subject(
                        protocol::partition_of(m.target_class, m.target_id, config_.partitions),
                        m.target_class, m.target_id, m.method),
                    m.body, headers, inbox_ + std::to_string(flight));
    } catch (const TransportError& e) {
      retry_later(s, std::string("NATS: ") + e.what());
      continue;
    }
    s.flight = flight;
    s.sent_at = now;
    flights_[flight] = key;
  }
  flush_events();
}

void Courier::publish_event(const SenderKey& key, Sender& s) {
  const auto& m = s.queue.front();
  std::map<std::string, std::string> headers{
      {protocol::kContentTypeHeader, protocol::kJsonContentType},
      {protocol::kMsgIdHeader, send_idempotency_key(m)}};
  if (!m.traceparent.empty()) headers[protocol::kTraceparentHeader] = m.traceparent;
  try {
    auto payload = protocol::decode_body(protocol::ContentType::kMsgpack, m.body);
    nats_.publish(protocol::event_subject(m.sender_class, m.sender_id, m.method),
                  protocol::encode_body(protocol::ContentType::kJson, payload), headers);
  } catch (const TransportError& e) {
    retry_later(s, std::string("NATS: ") + e.what());
    return;
  }
  s.flight = kEventFlight;
  s.sent_at = clock_.now();
  flushing_.push_back(key);
}

void Courier::flush_events() {
  if (flushing_.empty()) return;
  std::optional<std::string> failure;
  try {
    nats_.flush(kEventFlushTimeout);
  } catch (const TransportError& e) {
    failure = e.what();
  }
  for (const auto& key : flushing_) {
    auto it = senders_.find(key);
    if (it == senders_.end() || it->second.flight != kEventFlight) continue;
    auto& s = it->second;
    s.flight = 0;
    if (failure) {
      retry_later(s, "NATS did not confirm the event: " + *failure);
      continue;
    }
    // The server has it; a JetStream stream would drop a second copy by its Nats-Msg-Id.
    s.failures = 0;
    outcomes_("delivered");
    delivered_.push_back(std::move(s.queue.front()));
    s.queue.pop_front();
  }
  flushing_.clear();
}

}  // namespace dobj
