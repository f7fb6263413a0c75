#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "courier.hpp"
#include "dobj/client/nats_connection.hpp"
#include "dobj/core/periodic_task.hpp"
#include "dobj/metrics/metrics_server.hpp"
#include "dobj/runtime/host.hpp"
#include "housekeeper.hpp"
#include "lease_keeper.hpp"
#include "nats_outbox.hpp"
#include "schema_pool_filler.hpp"
#include "shard_url_watch.hpp"
#include "worker_metrics.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

struct WorkerConfig {
  constexpr static std::chrono::milliseconds kProbeTimeout{3000};
  // The worker pings NATS this often: a dead link is noticed within about two of these.
  constexpr static std::chrono::milliseconds kNatsPingInterval{1000};
  constexpr static std::chrono::milliseconds kNatsWatchInterval{200};
  // A handover waits this long for NATS to stop delivering, then this long for the shards to
  // commit what they hold (off the heartbeat's thread: the lease never waits for it).
  constexpr static std::chrono::milliseconds kHandoverTimeout{1000};
  constexpr static std::chrono::milliseconds kHandoverFinishTimeout{10'000};
  std::string nats_url;
  std::string database_url;  // the control database
  // The storage shard whose partitions this worker serves (`dobj shards`; empty: those whose
  // objects live in the control database).
  std::string storage_shard;
  // This worker's way to its storage shard when not the map's URL (a pooler on its host, another
  // network path); the shard it reaches must still be that one (its dobj.cluster is checked).
  std::string storage_url;
  // How often a worker of a storage shard reads the map for its shard's URL (without
  // --storage-url): `dobj shards set-url` moves its connections without a restart.
  std::chrono::milliseconds map_poll = ShardUrlWatch::kDefaultPoll;
  HostConfig host;
  LeaseKeeper::Config lease;
  store::Retention retention;
  // Ready object schemas kept in dobj.schema_pool (0: none; every first write creates its own).
  int schema_pool = SchemaPoolFiller::kDefaultTarget;
  // Delivery of ctx.send messages; its partitions and max_age are set at start (max_age: half
  // the idempotency window, within which targets recognise a message sent twice).
  Courier::Config courier;
  // Adds the classes this worker hosts (run_worker's caller decides).
  std::function<void(ClassRegistry&)> register_classes;
  // /metrics, /healthz, /readyz (host:port; port 0 picks one; "off": none).
  std::string metrics_addr = kDefaultMetricsAddr;
  constexpr static const char* kDefaultMetricsAddr = "127.0.0.1:9464";
};

// dobj-worker: the components of one worker process and their order.
//   start: database check → NATS → mapping probe → register → host → lease keeper → courier →
//          subscribe
//   stop:  unsubscribe → host drains (commit, reply, release objects) → courier (what it has not
//          delivered stays in dobj.outbox for the partitions' next owners) → lease keeper →
//          deregister
// While serving, the lease keeper's rounds drive partition handover (drain the NATS
// subscription, shards commit and release the objects, the partition is released; on the
// handover thread) and recovery from a lost lease (unsubscribe and drop everything the moment the
// local lease clock runs out, register anew, claim and subscribe again).
class Worker {
 public:
  explicit Worker(WorkerConfig config);
  ~Worker();
  void start();
  void stop();
  // True once a drain (`dobj drain`) has handed back every partition: the process should exit.
  bool drained() const { return drained_.load(); }
  // True once a turn ran past the turn limit: the process should stop, then exit kExitStuckTurn.
  bool stuck() const { return stuck_.load(); }
  bool must_stop() const { return drained() || stuck(); }
  store::WorkerId id() const;
  // Why the worker cannot take requests now (nullopt: it can): /readyz.
  std::optional<std::string> readiness();
  // The metrics endpoint's port (0 when off).
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }

 private:
  // Finds the worker's storage location in the shard map and checks that database.
  void resolve_storage(pqxx::connection& control);
  // Whether its objects live in a storage shard rather than the control database.
  bool on_storage_shard() const { return !config_.storage_shard.empty(); }
  void on_partitions(const std::vector<int>& owned);
  void on_leaving(const std::vector<int>& partitions);
  void on_handing_over(const std::vector<int>& partitions);
  // Ends the subscriptions in order: the server stops sending, delivered messages still run.
  static void drain(std::vector<NatsSubscription>& subs);
  void on_lost();
  void on_joined(store::WorkerId id);
  // `registration`: the worker id the message's subscription was made under.
  void on_message(natsMsg* msg, store::WorkerId registration);
  // LeaseKeeper::Callbacks::may_hold: false once NATS has been unreachable for a lease TTL.
  bool nats_link_holds() const;
  void watch_nats_link();

  WorkerConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  ClassRegistry registry_;
  int partitions_ = 0;
  store::WorkerId id_ = 0;
  std::unique_ptr<NatsConnection> nats_;
  // Send-asap connection for replies that go at once (NatsOutbox); null with --direct-replies 0.
  std::unique_ptr<NatsConnection> direct_nats_;
  std::unique_ptr<NatsOutbox> outbox_;
  std::unique_ptr<Courier> courier_;
  std::unique_ptr<Host> host_;
  std::unique_ptr<LeaseKeeper> keeper_;
  // Where its objects live: the storage shard's URL, or the control database's.
  // The storage shard's URL (the control database's when the worker serves no shard): shared by
  // every connection there, so that a new one in the map moves them all (ShardUrlWatch).
  store::ConnectionUrl storage_url_;
  std::unique_ptr<Housekeeper> housekeeper_;
  std::unique_ptr<Housekeeper> storage_housekeeper_;  // a storage shard's own rows
  std::unique_ptr<SchemaPoolFiller> schema_pool_;
  std::mutex subs_mutex_;
  std::map<int, NatsSubscription> subs_;
  std::map<int, NatsSubscription> draining_;  // handed over, NATS still finishing
  bool accepting_ = false;
  std::atomic<bool> drained_{false};
  std::atomic<bool> stuck_{false};
  std::atomic<std::chrono::steady_clock::rep> nats_down_since_{0};  // 0: connected
  std::unique_ptr<PeriodicTask> nats_watch_;
  std::unique_ptr<ShardUrlWatch> shard_url_watch_;
  std::shared_ptr<prometheus::Registry> metrics_registry_;
  std::unique_ptr<WorkerMetrics> metrics_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  bool partitions_known_ = false;  // the first claim round is done (guarded by subs_mutex_)
};

}  // namespace dobj
