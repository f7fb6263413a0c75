#pragma once

#include "alarm_wheel.hpp"
#include "timer_metrics.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/clock.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/periodic_task.hpp"
#include "dobj/metrics/metrics_server.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/store/alarm_store.hpp"
#include "dobj/store/lazy_connection.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

struct TimerConfig {
  // After a step that failed unexpectedly (not a storage error, which the step handles).
  constexpr static std::chrono::milliseconds kStepRetry{100};
  // After a step whose database work failed (e.g. the database refuses connections): the next
  // try waits this long, instead of retrying at once in a loop that would hold a core.
  constexpr static std::chrono::milliseconds kStorageRetry{100};
  // How often the loop looks for replies that never came while alarms are in flight.
  constexpr static std::chrono::milliseconds kInFlightCheck{100};
  // The firer's sleep with nothing held (a claim wakes it anyway).
  constexpr static std::chrono::milliseconds kIdleFireWait{1000};
  // Held back by max_in_flight with more due, the timer claims again once replies have freed
  // this share of a claim batch (so not one claim statement per reply).
  constexpr static std::size_t kRefillShare = 4;

  std::string nats_url;
  std::string database_url;
  std::chrono::milliseconds window = protocol::kAlarmWindow;  // claimed ahead, kept in memory
  std::chrono::milliseconds scan_interval{1000};              // the backstop scan
  std::size_t claim_batch = 2000;
  std::chrono::milliseconds lease_ttl{5000};  // the timer's lease, and its claims'
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds fire_timeout{10000};  // no reply by then: a failure
  std::size_t max_in_flight = 10000;
  int max_retries = 6;
  std::chrono::milliseconds base_backoff{2000};
  // No worker took it (no responders, moved, overloaded): try again after this, uncounted.
  std::chrono::milliseconds no_worker_delay{500};
  // /metrics, /healthz, /readyz (host:port; port 0 picks one; "off": none).
  std::string metrics_addr = "127.0.0.1:9465";
  // How often the storage shard map is read again (TimerFleet): a new shard's alarms fire
  // within about this long.
  std::chrono::milliseconds map_poll{10'000};
};

// dobj-timer's loop (DESIGN.md §6): claims due alarms (SKIP LOCKED, with a lease), keeps the
// window in an in-memory wheel, fires each as a request to dobj.in.<p>.<class>.<id>.$alarm,
// retries failures with exponential backoff and buries the hopeless in dobj.dead_alarms.
// Woken early by hints from workers; a periodic scan is the backstop.
// Two threads: the loop does everything that talks to the database (lease, claims, outcomes);
// the firer only sends what the wheel holds when it falls due, so that an alarm in hand fires on
// time even while a claim scan or a renewal waits on PostgreSQL (the lateness tail at 1,000
// alarms a second began there).
// Lifecycle: start() → ... → stop(); step() runs one iteration of both (the test hook).
class AlarmTimer {
 public:
  AlarmTimer(TimerConfig config, Clock& clock);
  ~AlarmTimer();
  void start();
  void stop();
  void step();
  // How many times the lease ran out and the timer registered anew.
  int losses() const { return losses_.load(); }
  store::TimerId id() const { return id_; }
  // Why the timer cannot fire alarms now (nullopt: it can): /readyz.
  std::optional<std::string> readiness() const;
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }

 private:
  struct InFlight {
    store::ClaimedAlarm alarm;
    Clock::TimePoint sent_at;
  };
  struct Result {
    std::uint64_t fire_id;
    enum class Kind { kOk, kError, kNoWorker } kind;
    std::string error;
  };

  void ensure_store();
  // The claims in hand (wheel and in flight): the ones the heartbeat renews.
  std::vector<store::AlarmKey> held_keys();
  void rejoin();
  void scan();
  // The last scan was held back by max_in_flight with more due, and replies have freed room.
  bool room_to_refill();
  void hold(const store::ClaimedAlarm& alarm);
  void hold_again(std::vector<store::ClaimedAlarm> alarms, const Error& why);
  void loop_step();
  void fire_due();
  void fire(const store::ClaimedAlarm& alarm, std::uint64_t fire_id);
  void process_results();
  // In one statement; on a storage error they are held again (hold_again).
  void record_failures(std::vector<store::ClaimedAlarm> alarms, const std::string& error);
  void expire_in_flight();
  void on_reply(natsMsg* msg);
  std::chrono::milliseconds until_next_wake();
  std::chrono::milliseconds until_next_fire();

  TimerConfig config_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  store::LazyConnection conn_;
  std::unique_ptr<store::AlarmStore> store_;  // on conn_ while it stays open
  std::unique_ptr<NatsConnection> nats_;
  NatsSubscription replies_, hints_;
  store::TimerId id_ = 0;
  store::WorkerInfo info_;
  std::string inbox_;

  // Shared by the loop and the firer; never held across a database or NATS call.
  std::mutex held_mutex_;
  // The wheel: claimed alarms by fire time, and which object holds which entry.
  AlarmWheel wheel_;
  std::unordered_map<std::uint64_t, InFlight> in_flight_;
  std::mt19937_64 fire_ids_{std::random_device{}()};
  std::int64_t fired_unreported_ = 0;
  Clock::TimePoint next_scan_{}, next_heartbeat_{};
  bool awaiting_room_ = false;  // the loop's own: more due than max_in_flight let it claim

  std::mutex mutex_;  // guards results_, hinted_, stopping_
  std::vector<Result> results_;
  bool hinted_ = false;
  bool stopping_ = false;
  std::atomic<int> losses_{0};
  std::shared_ptr<prometheus::Registry> metrics_registry_;
  std::unique_ptr<TimerMetrics> metrics_;
  std::atomic<bool> lease_held_{false};  // registered, and the last renewal kept the lease
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  // Last: stopped first. The firer sleeps until the wheel's next fire time; a claim wakes it.
  std::unique_ptr<PeriodicTask> firer_;
  // Runs loop_step() until the next scan, heartbeat or in-flight check; a hint or a reply
  // wakes it sooner.
  std::unique_ptr<PeriodicTask> loop_;
};

}  // namespace dobj
