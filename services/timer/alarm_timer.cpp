#include "alarm_timer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/protocol/trace_context.hpp"
#include "dobj/store/database.hpp"

namespace dobj {
namespace {

store::EpochMicros wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

AlarmTimer::AlarmTimer(TimerConfig config, Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      log_(logger("timer")),
      conn_(config_.database_url),
      firer_(std::make_unique<PeriodicTask>(
          "timer-fire",
          [this] {
            fire_due();
            return until_next_fire();
          },
          TimerConfig::kStepRetry)),
      loop_(std::make_unique<PeriodicTask>(
          "timer-loop",
          [this] {
            loop_step();
            return until_next_wake();
          },
          TimerConfig::kStepRetry)) {}

AlarmTimer::~AlarmTimer() {
  stop();
}

void AlarmTimer::start() {
  // The endpoint first: a busy port fails the start before anything registers.
  metrics_registry_ = std::make_shared<prometheus::Registry>();
  metrics_ = std::make_unique<TimerMetrics>(*metrics_registry_);
  if (config_.metrics_addr != "off") {
    metrics_server_ =
        std::make_unique<metrics::MetricsServer>(metrics_registry_, [this] { return readiness(); });
    metrics_server_->start(config_.metrics_addr);
    log_->info("metrics, health and readiness on {} (port {})", config_.metrics_addr,
               metrics_server_->port());
  }
  info_ = {host_name(), static_cast<int>(getpid()), DOBJ_VERSION,
           metrics_server_ ? metrics_server_->address() : ""};
  ensure_store();
  id_ = store_->register_timer(info_, config_.lease_ttl);
  lease_held_ = true;
  nats_ = std::make_unique<NatsConnection>(
      NatsConnection::Options{config_.nats_url, "dobj-timer", /*send_asap=*/false});
  inbox_ = protocol::kTimerInboxPrefix + std::to_string(id_) + ".";
  replies_ = nats_->subscribe(inbox_ + "*", [this](natsMsg* m) { on_reply(m); });
  hints_ = nats_->subscribe(protocol::kAlarmHintSubject, [this](natsMsg* m) {
    natsMsg_Destroy(m);
    {
      std::lock_guard lock(mutex_);
      hinted_ = true;
    }
    loop_->wake();
  });
  nats_->flush(std::chrono::seconds(2));
  next_scan_ = next_heartbeat_ = clock_.now();
  firer_->start();
  loop_->start();
  log_->info("timer {} serving (window {} ms)", id_, config_.window.count());
}

void AlarmTimer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (metrics_server_) metrics_server_->stop();
  loop_->stop();
  firer_->stop();
  replies_.reset();
  hints_.reset();
  if (store_) {
    try {
      if (fired_unreported_ > 0) store_->count_fired(id_, fired_unreported_);
      store_->stop(id_);  // frees the claims for the other timers
    } catch (const Error& e) {
      log_->warn("stopping timer {}: {} (its claims expire by themselves)", id_, e.what());
    }
  }
  nats_.reset();
}

std::optional<std::string> AlarmTimer::readiness() const {
  if (!lease_held_) return "the timer's lease is not held";
  if (!nats_ || !nats_->connected()) return "NATS is unreachable";
  return std::nullopt;
}

std::chrono::milliseconds AlarmTimer::until_next_wake() {
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(std::min(next_scan_, next_heartbeat_) -
                                                           clock_.now());
  {
    std::lock_guard lock(held_mutex_);
    if (!in_flight_.empty()) wait = std::min(wait, TimerConfig::kInFlightCheck);
  }
  return std::max(wait, std::chrono::milliseconds(0));
}

std::chrono::milliseconds AlarmTimer::until_next_fire() {
  std::lock_guard lock(held_mutex_);
  auto next = wheel_.next_fire_at();
  if (!next) return TimerConfig::kIdleFireWait;
  // Rounded up: waking a little early would only spin.
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(
      std::chrono::microseconds(*next - wall_now_us()));
  return std::clamp(wait, std::chrono::milliseconds(0), TimerConfig::kIdleFireWait);
}

void AlarmTimer::step() {
  loop_step();
  fire_due();
}

void AlarmTimer::loop_step() {
  bool hinted = false;
  {
    std::lock_guard lock(mutex_);
    std::swap(hinted, hinted_);
  }
  try {
    ensure_store();
    auto now = clock_.now();
    if (now >= next_heartbeat_) {
      next_heartbeat_ = now + config_.heartbeat;
      bool renewed = store_->renew(id_, config_.lease_ttl, held_keys());
      lease_held_ = renewed;
      if (!renewed) rejoin();
      if (fired_unreported_ > 0) {
        store_->count_fired(id_, fired_unreported_);
        fired_unreported_ = 0;
      }
    }
    process_results();
    if (hinted || now >= next_scan_ || room_to_refill()) scan();
    expire_in_flight();
    std::lock_guard lock(held_mutex_);
    metrics_->claimed(wheel_.size() + in_flight_.size());
  } catch (const Error& e) {
    log_->warn("timer {}: {}", id_, e.what());
    auto now = clock_.now();
    next_scan_ = now + config_.scan_interval;
    // A heartbeat that failed is still due: it waits for the retry like everything else.
    next_heartbeat_ = std::max(next_heartbeat_, now + TimerConfig::kStorageRetry);
    if (!conn_.is_open()) store_.reset();  // reconnect on the next step
  }
}

std::vector<store::AlarmKey> AlarmTimer::held_keys() {
  std::vector<store::AlarmKey> keys;
  std::lock_guard lock(held_mutex_);
  keys.reserve(wheel_.size() + in_flight_.size());
  wheel_.keys(keys);
  for (const auto& [fire_id, f] : in_flight_) {
    keys.push_back({f.alarm.class_name, f.alarm.object_id});
  }
  return keys;
}

void AlarmTimer::ensure_store() {
  if (store_ && conn_.is_open()) return;
  store_.reset();
  store_ = std::make_unique<store::AlarmStore>(conn_.get());
}

void AlarmTimer::rejoin() {
  // The claims went with the lease (another timer may hold them now): forget them all, and
  // replies to what was in flight are ignored.
  {
    std::lock_guard lock(held_mutex_);
    log_->critical("timer {}: lease ran out before renewal; dropping {} held alarms", id_,
                   wheel_.size() + in_flight_.size());
    wheel_.clear();
    in_flight_.clear();
  }
  // What it fired and saw done still counts: reported under the new id.
  id_ = store_->register_timer(info_, config_.lease_ttl);
  lease_held_ = true;
  ++losses_;
  log_->warn("timer registered anew as timer {}", id_);
  next_scan_ = clock_.now();
}

void AlarmTimer::scan() {
  std::size_t held = 0;
  {
    std::lock_guard lock(held_mutex_);
    held = in_flight_.size() + wheel_.size();
  }
  auto room = config_.max_in_flight > held ? config_.max_in_flight - held : 0;
  auto asked = std::min(room, config_.claim_batch);
  auto claimed = asked > 0 ? store_->claim_due(id_, config_.window, asked, config_.lease_ttl)
                           : std::vector<store::ClaimedAlarm>{};
  for (auto& alarm : claimed) hold(alarm);
  // A batch as large as asked means more may be due. With room for a whole batch, the next scan
  // comes at once; without it, as soon as replies free room (process_results), not a scan
  // interval later: a burst beyond max_in_flight refilled once a second left the workers idle
  // between refills (100,000 alarms due at one instant: docs/performance.md).
  bool more_due = asked == 0 || claimed.size() == asked;
  bool room_left = room > claimed.size() && asked == config_.claim_batch;
  awaiting_room_ = more_due && !room_left;
  next_scan_ =
      clock_.now() + (more_due && room_left ? std::chrono::milliseconds(0) : config_.scan_interval);
}

bool AlarmTimer::room_to_refill() {
  if (!awaiting_room_) return false;
  std::lock_guard lock(held_mutex_);
  auto held = in_flight_.size() + wheel_.size();
  // A claim for a handful of rows would cost a round trip per reply: wait for a share of a batch.
  auto enough = std::max<std::size_t>(
      1, std::min(config_.claim_batch, config_.max_in_flight) / TimerConfig::kRefillShare);
  return config_.max_in_flight >= held + enough;
}

void AlarmTimer::hold(const store::ClaimedAlarm& alarm) {
  {
    std::lock_guard lock(held_mutex_);
    wheel_.hold(alarm);  // replaces a stale entry: the object set another time
  }
  firer_->wake();  // it may fall due before what the firer sleeps for
}

void AlarmTimer::hold_again(std::vector<store::ClaimedAlarm> alarms, const Error& why) {
  // The outcomes could not be written, so the rows are still claimed by this timer (its claims
  // are renewed with the lease): keep them in hand and fire them again, or they would never fire.
  if (alarms.empty()) return;
  log_->warn("{} alarms (first {}/{}): outcome not recorded ({}); firing them again", alarms.size(),
             alarms[0].class_name, alarms[0].object_id, why.what());
  auto again_at =
      wall_now_us() +
      std::chrono::duration_cast<std::chrono::microseconds>(config_.no_worker_delay).count();
  for (auto& alarm : alarms) {
    alarm.fire_at = again_at;
    hold(alarm);
  }
}

void AlarmTimer::fire_due() {
  std::vector<std::pair<store::ClaimedAlarm, std::uint64_t>> due;
  {
    std::lock_guard lock(held_mutex_);
    for (auto& alarm : wheel_.take_due(wall_now_us())) {
      // Unguessable, so that an answer can only be matched by whoever saw the request.
      std::uint64_t fire_id = 0;
      do {
        fire_id = fire_ids_();
      } while (fire_id == 0 || in_flight_.count(fire_id));
      // In flight before it is sent: the reply may come before publish() returns.
      in_flight_[fire_id] = InFlight{alarm, clock_.now()};
      due.emplace_back(std::move(alarm), fire_id);
    }
  }
  for (const auto& [alarm, fire_id] : due) fire(alarm, fire_id);
}

void AlarmTimer::fire(const store::ClaimedAlarm& alarm, std::uint64_t fire_id) {
  metrics_->lateness(std::chrono::microseconds(wall_now_us() - alarm.fire_at));
  Value body = {{"due_at_us", alarm.due_at}, {"retry_count", alarm.retry_count}};
  std::map<std::string, std::string> headers{
      {protocol::kContentTypeHeader, protocol::kJsonContentType}};
  // The alarm's turn continues the trace of the turn that set it.
  if (!alarm.traceparent.empty()) headers[protocol::kTraceparentHeader] = alarm.traceparent;
  try {
    nats_->publish(
        protocol::inbound_subject(alarm.partition, alarm.class_name, alarm.object_id, "$alarm"),
        body.dump(), headers, inbox_ + std::to_string(fire_id));
  } catch (const TransportError& e) {
    log_->warn("firing {}/{}: {}", alarm.class_name, alarm.object_id, e.what());
  }
}

void AlarmTimer::on_reply(natsMsg* raw) {
  auto msg = NatsMessage::from(raw);
  nats_->retire(raw);
  Result r;
  r.fire_id = std::strtoull(msg.subject.c_str() + inbox_.size(), nullptr, 10);
  if (msg.no_responders) {
    r.kind = Result::Kind::kNoWorker;
  } else {
    try {
      protocol::parse_reply(msg.header(protocol::kStatusHeader),
                            msg.header(protocol::kContentTypeHeader), msg.body);
      r.kind = Result::Kind::kOk;
    } catch (const Error& e) {
      // moved / overloaded: the handler never ran, so it is no failure of the alarm's.
      bool never_ran = e.code() == ErrorCode::kMoved || e.code() == ErrorCode::kOverloaded;
      r.kind = never_ran ? Result::Kind::kNoWorker : Result::Kind::kError;
      r.error = std::string(to_string(e.code())) + ": " + e.what();
    }
  }
  {
    std::lock_guard lock(mutex_);
    results_.push_back(std::move(r));
  }
  loop_->wake();
}

void AlarmTimer::process_results() {
  std::vector<Result> results;
  {
    std::lock_guard lock(mutex_);
    results.swap(results_);
  }
  std::vector<store::ClaimedAlarm> postponed;
  std::map<std::string, std::vector<store::ClaimedAlarm>> failed;  // by error
  for (auto& r : results) {
    store::ClaimedAlarm alarm;
    {
      std::lock_guard lock(held_mutex_);
      auto it = in_flight_.find(r.fire_id);
      if (it == in_flight_.end()) continue;  // already timed out
      alarm = std::move(it->second.alarm);
      in_flight_.erase(it);
    }
    switch (r.kind) {
      case Result::Kind::kOk:
        ++fired_unreported_;  // the object's commit deleted (or reset) the row
        metrics_->fired(TimerMetrics::Outcome::kOk);
        break;
      case Result::Kind::kNoWorker:
        metrics_->fired(TimerMetrics::Outcome::kNoWorker);
        postponed.push_back(std::move(alarm));
        break;
      case Result::Kind::kError:
        log_->info("alarm {}/{} failed (retry {}): {}", alarm.class_name, alarm.object_id,
                   alarm.retry_count, r.error);
        metrics_->fired(TimerMetrics::Outcome::kError);
        failed[r.error].push_back(std::move(alarm));
        break;
    }
  }
  try {
    store_->postpone(id_, postponed, config_.no_worker_delay);
  } catch (const Error& e) {
    hold_again(std::move(postponed), e);
  }
  for (auto& [error, alarms] : failed) record_failures(std::move(alarms), error);
}

void AlarmTimer::record_failures(std::vector<store::ClaimedAlarm> alarms,
                                 const std::string& error) {
  try {
    metrics_->buried(
        store_->record_failures(id_, alarms, error, config_.max_retries, config_.base_backoff));
  } catch (const Error& e) {
    hold_again(std::move(alarms), e);
  }
}

void AlarmTimer::expire_in_flight() {
  auto limit = clock_.now() - config_.fire_timeout;
  std::vector<store::ClaimedAlarm> expired;
  {
    std::lock_guard lock(held_mutex_);
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->second.sent_at < limit) {
        expired.push_back(std::move(it->second.alarm));
        it = in_flight_.erase(it);
      } else {
        ++it;
      }
    }
  }
  metrics_->fired(TimerMetrics::Outcome::kTimeout, expired.size());
  record_failures(std::move(expired), "timeout");
}

}  // namespace dobj
