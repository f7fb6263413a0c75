// dobj-worker's command line, shared by every worker binary: dobj-worker (the example classes),
// dobj-test-worker (tests/worker) and the worker a team builds for its own classes.
// Configuration from DOBJ_NATS_URL / DOBJ_DATABASE_URL and flags; SIGTERM or SIGINT drains and
// exits 0, as does `dobj drain <worker>`; a lost lease is recovered in-process (the worker
// registers anew).
#include "dobj/worker/run_worker.hpp"

#include "dobj/core/connection_config.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/core/stop_signals.hpp"
#include "dobj/store/service_flags.hpp"
#include "worker.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

namespace dobj {

int run_worker(int argc, char** argv, std::function<void(ClassRegistry&)> register_classes) {
  StopSignals stop_signals;  // before any thread exists
  // Named after the binary: a team's own worker says its own name in --help and errors.
  CLI::App app{"a dobj worker: hosts the object classes it was built with",
               std::filesystem::path(argc > 0 ? argv[0] : "dobj-worker").filename().string()};
  // A flag given twice takes its last value, so that a wrapper's defaults (dobj-bench's
  // --worker-arg, a unit file) can be overridden by appending.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  store::ServiceFlags service;
  service.add(app);
  WorkerConfig config;
  std::int64_t ttl_ms = config.lease.ttl.count(), heartbeat_ms = config.lease.interval.count();
  std::int64_t idle_ms = config.host.idle_timeout.count();
  std::int64_t max_turn_ms = config.host.max_turn.count();
  app.add_option("--metrics-addr", config.metrics_addr,
                 "/metrics, /healthz and /readyz on host:port (port 0: any free one; off: none)")
      ->capture_default_str();
  if (const char* shard = std::getenv("DOBJ_STORAGE_SHARD")) config.storage_shard = shard;
  app.add_option("--storage-shard", config.storage_shard,
                 "serve the partitions of this storage shard (`dobj shards`; DOBJ_STORAGE_SHARD; "
                 "none: those stored in the control database)")
      ->capture_default_str();
  if (const char* url = std::getenv("DOBJ_STORAGE_URL")) config.storage_url = url;
  app.add_option("--storage-url", config.storage_url,
                 "reach the storage shard with this URL instead of the map's (a pooler on this "
                 "host, another network path; DOBJ_STORAGE_URL)");
  std::int64_t map_poll_ms = config.map_poll.count();
  app.add_option("--map-poll-ms", map_poll_ms,
                 "read the storage shard's URL in the map this often; a new one (`dobj shards "
                 "set-url`) moves the worker's connections there (not with --storage-url)")
      ->check(CLI::Range(50, 3'600'000))
      ->capture_default_str();
  app.add_option("--shards", config.host.shards, "executor shard threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--lease-ttl-ms", ttl_ms, "worker lease TTL")
      ->check(CLI::Range(200, 600000))
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "lease renewal interval")
      ->check(CLI::Range(50, 60000))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", idle_ms, "evict objects idle this long")
      ->check(CLI::Range(1, 86400000))
      ->capture_default_str();
  app.add_option("--max-body-bytes", config.host.max_body_bytes, "largest request body")
      ->check(CLI::Range(1, 64 << 20))
      ->capture_default_str();
  app.add_option("--max-object-queue", config.host.max_object_queue,
                 "queued messages per object before `overloaded`")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--prepared-commits", config.host.prepared_commits,
                 "one-object commits a shard keeps prepared as statements, one per object (each "
                 "keeps a plan in its PostgreSQL backend); further objects commit unprepared; 0: "
                 "every commit through dobj.commit_objects_together")
      ->check(CLI::Range(0, 100'000))
      ->capture_default_str();
  app.add_option("--direct-replies", config.host.direct_replies,
                 "a shard's batch with at most this many replies and nothing queued behind it "
                 "sends them at once on a second, send-asap NATS connection (no flushing thread, "
                 "no PING); 0: one connection, every reply buffered and flushed")
      ->check(CLI::Range(0, 1'000))
      ->capture_default_str();
  app.add_option("--claim-ahead", config.host.claim_ahead,
                 "objects whose first messages arrive while a shard commits are claimed "
                 "meanwhile, on a second database connection per shard (opened on first use); "
                 "false: one connection per shard, claims after the commit")
      ->capture_default_str();
  app.add_option("--max-schemas-per-connection", config.host.max_schemas_per_connection,
                 "a shard replaces its database connection once it has touched this many object "
                 "schemas (each keeps about 10 KB of PostgreSQL backend memory) and twice as many "
                 "as the objects it holds: the caches of objects gone from it are shed, never "
                 "those of objects still active")
      ->check(CLI::Range(100, 10'000'000))
      ->capture_default_str();
  app.add_option("--max-turn-ms", max_turn_ms,
                 "a turn running longer makes the worker hand everything else over and exit 4")
      ->check(CLI::Range(10, 86'400'000))
      ->capture_default_str();
  app.add_option("--reply-prefix", config.host.reply_prefixes,
                 "reply subjects a request may name (repeatable; default _INBOX.): replies go "
                 "nowhere else")
      ->capture_default_str();
  app.add_flag("--audit-commits", config.host.audit_commits,
               "record every commit in dobj.commit_audit (tests, chaos runs)");
  std::int64_t reply_window_s = config.host.reply_window.count() / 1000;
  app.add_option("--idempotency-window-s", reply_window_s,
                 "how long replies to requests with Dobj-Idempotency-Key are kept")
      ->check(CLI::Range(1, 7 * 86400))
      ->capture_default_str();
  app.add_option("--schema-pool", config.schema_pool,
                 "ready, empty object schemas kept for first writes (0: none; each first write "
                 "then creates its schema, about 10x the database time)")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_flag("--hold-sends", config.courier.paused,
               "test hook: commit ctx.send messages but never deliver them here (another "
               "worker's sweep of dobj.outbox must)");
  std::int64_t handovers_h = config.retention.handovers.count();
  std::int64_t departed_h = config.retention.departed.count();
  std::int64_t dead_alarms_h = config.retention.dead_alarms.count();
  app.add_option("--handover-retention-h", handovers_h, "keep dobj.partition_log this long")
      ->check(CLI::Range(1, 24 * 3650))
      ->capture_default_str();
  app.add_option("--departed-retention-h", departed_h,
                 "keep rows of workers and timers gone this long (dobj_admin views)")
      ->check(CLI::Range(1, 24 * 3650))
      ->capture_default_str();
  app.add_option("--dead-alarm-retention-h", dead_alarms_h, "keep dobj.dead_alarms this long")
      ->check(CLI::Range(1, 24 * 3650))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  config.retention.handovers = std::chrono::hours(handovers_h);
  config.retention.departed = std::chrono::hours(departed_h);
  config.retention.dead_alarms = std::chrono::hours(dead_alarms_h);

  auto log = logger("worker");
  try {
    service.apply();
    if (heartbeat_ms * 2 > ttl_ms) {
      throw Error(ErrorCode::kBadRequest, "--heartbeat-ms must be at most half of --lease-ttl-ms");
    }
    if (!config.storage_url.empty() && config.storage_shard.empty()) {
      throw Error(ErrorCode::kBadRequest, "--storage-url needs --storage-shard");
    }
  } catch (const Error& e) {
    log->error("{}", e.what());
    return kExitStartFailed;
  }
  config.register_classes = std::move(register_classes);
  config.nats_url = service.connection().nats_url;
  config.database_url = service.connection().database_url;
  config.lease.ttl = std::chrono::milliseconds(ttl_ms);
  config.map_poll = std::chrono::milliseconds(map_poll_ms);
  config.lease.interval = std::chrono::milliseconds(heartbeat_ms);
  config.host.idle_timeout = std::chrono::milliseconds(idle_ms);
  config.host.max_turn = std::chrono::milliseconds(max_turn_ms);
  config.host.reply_window = std::chrono::seconds(reply_window_s);

  // Signals are taken synchronously by this thread; every other thread inherits the mask.

  Worker worker(config);
  try {
    worker.start();
  } catch (const std::exception& e) {
    log->error("cannot start: {}", e.what());
    return kExitStartFailed;
  }
  if (int sig = stop_signals.wait_until_stopped([&] { return worker.must_stop(); })) {
    log->info("signal {}: draining", sig);
  } else if (worker.stuck()) {
    log->info("a turn is stuck: draining the rest");
  } else {
    log->info("drained on request: stopping");
  }
  worker.stop();
  if (worker.stuck()) {
    // The stuck thread still runs: no destructor may race with it.
    log->critical("exiting {} for a fresh start (a turn ran past --max-turn-ms)", kExitStuckTurn);
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    std::_Exit(kExitStuckTurn);
  }
  return 0;
}

}  // namespace dobj
