// dobj-timer: fires alarms. Configuration from DOBJ_NATS_URL / DOBJ_DATABASE_URL and flags;
// SIGTERM frees its claims and exits 0; a lost lease drops the claims and registers anew.
// Several may run at once. One process fires the alarms of every storage shard of the map (read
// again every few seconds) and of the control database (TimerFleet).

#include "alarm_timer.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/core/stop_signals.hpp"
#include "dobj/store/service_flags.hpp"
#include "timer_fleet.hpp"

int main(int argc, char** argv) {
  using namespace dobj;
  StopSignals stop_signals;  // before any thread exists
  CLI::App app{"dobj-timer: fires dobj alarms"};
  store::ServiceFlags service;
  service.add(app);
  TimerConfig config;
  std::int64_t scan_ms = config.scan_interval.count(), ttl_ms = config.lease_ttl.count();
  app.add_option("--scan-ms", scan_ms, "backstop scan interval")
      ->check(CLI::Range(10, 600000))
      ->capture_default_str();
  app.add_option("--lease-ttl-ms", ttl_ms, "timer and claim lease")
      ->check(CLI::Range(500, 600000))
      ->capture_default_str();
  app.add_option("--max-retries", config.max_retries, "retries before dobj.dead_alarms")
      ->check(CLI::Range(0, 30))
      ->capture_default_str();
  app.add_option("--metrics-addr", config.metrics_addr,
                 "/metrics, /healthz and /readyz on host:port (port 0: any free one; off: none)")
      ->capture_default_str();
  std::int64_t backoff_ms = config.base_backoff.count();
  app.add_option("--backoff-ms", backoff_ms, "first retry delay, doubled each time")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str();
  app.add_option("--max-in-flight", config.max_in_flight,
                 "alarms held at once (claimed and not yet answered); a burst beyond it is "
                 "claimed as replies free room")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  std::int64_t map_poll_ms = config.map_poll.count();
  app.add_option("--map-poll-ms", map_poll_ms, "read the storage shard map again this often")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto log = logger("timer");
  try {
    service.apply();
  } catch (const Error& e) {
    log->error("{}", e.what());
    return kExitStartFailed;
  }
  config.nats_url = service.connection().nats_url;
  config.database_url = service.connection().database_url;
  config.scan_interval = std::chrono::milliseconds(scan_ms);
  config.lease_ttl = std::chrono::milliseconds(ttl_ms);
  config.heartbeat = config.lease_ttl / 5;
  config.base_backoff = std::chrono::milliseconds(backoff_ms);
  config.map_poll = std::chrono::milliseconds(map_poll_ms);

  TimerFleet fleet(config);
  try {
    fleet.start();
  } catch (const std::exception& e) {
    log->error("cannot start: {}", e.what());
    fleet.stop();
    return kExitStartFailed;
  }
  stop_signals.wait();
  fleet.stop();
  return 0;
}
