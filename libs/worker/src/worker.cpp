#include "worker.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "dobj/core/logging.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/protocol/trace_context.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/storage_shards.hpp"
#include "mapping_probe.hpp"

namespace dobj {
namespace {

// Sums every header's name and values (cnats parses the header block on first access anyway).
std::size_t header_bytes(natsMsg* msg) {
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK) return 0;
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) {
    total += std::strlen(keys[i]);
    const char** values = nullptr;
    int n = 0;
    if (natsMsgHeader_Values(msg, keys[i], &values, &n) == NATS_OK) {
      for (int j = 0; j < n; ++j) total += std::strlen(values[j]);
      free(static_cast<void*>(values));
    }
  }
  free(static_cast<void*>(keys));
  return total;
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

Worker::Worker(WorkerConfig config) : config_(std::move(config)), log_(logger("worker")) {
  if (config_.register_classes) config_.register_classes(registry_);
}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  // The endpoint first: a busy port fails the start before anything registers, and /healthz
  // answers (with /readyz saying why not) while the rest starts.
  metrics_registry_ = std::make_shared<prometheus::Registry>();
  metrics_ = std::make_unique<WorkerMetrics>(*metrics_registry_);
  config_.host.observer = metrics_.get();
  if (config_.metrics_addr != "off") {
    metrics_server_ = std::make_unique<metrics::MetricsServer>(
        metrics_registry_, [this] { return readiness(); },
        [this] {
          // keeper_ and host_ are only read once accepting_ (set after them, under this
          // mutex) says they exist: a scrape may come while start() builds them.
          std::lock_guard lock(subs_mutex_);
          bool up = accepting_;
          bool valid = up && keeper_->valid(keeper_->id());
          metrics_->set_state(valid, subs_.size(), up ? host_->active_objects() : 0,
                              up ? host_->queue_depths() : std::vector<std::size_t>{},
                              up ? host_->running_turn_seconds() : std::vector<double>{});
          metrics_->set_outbox_senders(up ? courier_->senders_pending() : 0);
        });
    metrics_server_->start(config_.metrics_addr);
    log_->info("metrics, health and readiness on {} (port {})", config_.metrics_addr,
               metrics_server_->port());
  }
  {
    auto conn = store::connect(config_.database_url);
    store::MigrationRunner(*conn).require_current();
    partitions_ = store::PartitionTable(*conn).partition_count();
    resolve_storage(*conn);
  }
  nats_ = std::make_unique<NatsConnection>(NatsConnection::Options{
      config_.nats_url, "dobj-worker", false, NatsConnection::Options{}.connect_timeout,
      WorkerConfig::kNatsPingInterval});
  verify_partition_mapping(*nats_, partitions_, WorkerConfig::kProbeTimeout);
  log_->info("NATS partition mapping agrees with the database ({} partitions)", partitions_);

  auto& clock = Clock::system();
  auto registered_at = clock.now();
  store::WorkerInfo info{host_name(),          static_cast<int>(getpid()),
                         DOBJ_VERSION,         metrics_server_ ? metrics_server_->address() : "",
                         registry_.describe(), config_.storage_shard};
  {
    auto conn = store::connect(config_.database_url);
    id_ = store::WorkerRegistry(*conn).register_worker(info, config_.lease.ttl);
  }
  config_.host.worker_id = id_;
  config_.host.partitions = partitions_;
  config_.host.database_url = storage_url_;
  config_.courier.partitions = partitions_;
  config_.courier.max_age = config_.host.reply_window / 2;
  courier_ = std::make_unique<Courier>(
      config_.courier, storage_url_, *nats_, [this] { return id(); }, clock,
      [this](const char* outcome) { metrics_->message_outcome(outcome); });
  if (config_.host.direct_replies > 0) {
    direct_nats_ = std::make_unique<NatsConnection>(NatsConnection::Options{
        config_.nats_url, "dobj-worker-replies", true, NatsConnection::Options{}.connect_timeout,
        WorkerConfig::kNatsPingInterval});
  }
  outbox_ = std::make_unique<NatsOutbox>(
      *nats_, direct_nats_.get(),
      [this](std::vector<store::DurableMessage> m) { courier_->messages_committed(std::move(m)); });
  outbox_->start();
  keeper_ = std::make_unique<LeaseKeeper>(
      config_.database_url, on_storage_shard() ? storage_url_ : store::ConnectionUrl(), info,
      config_.lease, clock,
      LeaseKeeper::Callbacks{[this] { on_lost(); }, [this](store::WorkerId id) { on_joined(id); },
                             [this](const std::vector<int>& ps) { on_leaving(ps); },
                             [this](const std::vector<int>& ps) { on_handing_over(ps); },
                             [this](const std::vector<int>& owned) { on_partitions(owned); },
                             [this] { drained_ = true; }, [this] { return nats_link_holds(); }});
  host_ = std::make_unique<Host>(config_.host, registry_, *outbox_, clock,
                                 [this](store::WorkerId id) { return keeper_->valid(id); });
  host_->on_stuck_turn([this](const std::string& object) {
    log_->critical("a turn of {} is stuck: handing everything else over, then exiting", object);
    stuck_ = true;
  });
  host_->start();
  {
    std::lock_guard lock(subs_mutex_);
    accepting_ = true;
  }
  keeper_->start(id_, registered_at);
  courier_->start();
  housekeeper_ = std::make_unique<Housekeeper>(config_.database_url, config_.retention);
  housekeeper_->start();
  if (on_storage_shard()) {
    storage_housekeeper_ = std::make_unique<Housekeeper>(storage_url_, config_.retention);
    storage_housekeeper_->start();
  }
  schema_pool_ = std::make_unique<SchemaPoolFiller>(storage_url_, config_.schema_pool);
  schema_pool_->start();
  nats_watch_ = std::make_unique<PeriodicTask>("nats-link", WorkerConfig::kNatsWatchInterval,
                                               [this] { watch_nats_link(); });
  nats_watch_->start();
  if (on_storage_shard() && config_.storage_url.empty()) {
    shard_url_watch_ = std::make_unique<ShardUrlWatch>(config_.database_url, config_.storage_shard,
                                                       storage_url_, config_.map_poll);
    shard_url_watch_->start();
  }
  log_->info("worker {} serving with {} shards", id_, config_.host.shards);
}

void Worker::resolve_storage(pqxx::connection& control) {
  auto map = store::StorageShardMap::load(control);
  if (config_.storage_shard.empty()) {
    storage_url_ = config_.database_url;
    if (map.control_partitions(partitions_) == 0) {
      log_->warn(
          "every partition's objects live in a storage shard: this worker, started without "
          "--storage-shard, will serve none");
    }
    return;
  }
  const auto* shard = map.find(config_.storage_shard);
  if (!shard) {
    throw Error(ErrorCode::kBadRequest, "no storage shard is named '" + config_.storage_shard +
                                            "' (`dobj shards` lists them)");
  }
  storage_url_ = config_.storage_url.empty() ? shard->url : config_.storage_url;
  auto conn = store::connect(storage_url_.get());
  store::MigrationRunner(*conn).require_current();
  store::check_storage_database(*conn, shard->name);
  int shard_partitions = store::PartitionTable(*conn).partition_count();
  if (shard_partitions != partitions_) {
    throw Error(ErrorCode::kBadRequest, "storage shard " + shard->name + " was migrated for " +
                                            std::to_string(shard_partitions) +
                                            " partitions, the cluster has " +
                                            std::to_string(partitions_));
  }
  log_->info("serving the partitions stored in storage shard {}", shard->name);
}

store::WorkerId Worker::id() const {
  return keeper_ ? keeper_->id() : id_;
}

void Worker::watch_nats_link() {
  // cnats' status call may wait for the connection's lock during a reconnect attempt: it runs
  // here, never on the heartbeat's thread.
  if (nats_->connected()) {
    if (nats_down_since_.exchange(0) != 0) metrics_->nats_reconnected();
  } else if (nats_down_since_.load() == 0) {
    nats_down_since_ = std::chrono::steady_clock::now().time_since_epoch().count();
  }
}

std::optional<std::string> Worker::readiness() {
  if (nats_down_since_.load() != 0) return "NATS is unreachable";
  std::lock_guard lock(subs_mutex_);
  if (!accepting_) return "not serving (starting or stopping)";
  if (!keeper_ || !keeper_->valid(keeper_->id())) return "the worker's lease is not valid";
  if (!partitions_known_) return "claiming partitions";
  return std::nullopt;
}

bool Worker::nats_link_holds() const {
  // Cut off from NATS the worker is unavailable: after a lease TTL it gives its partitions to
  // connected workers (its queued turns still commit) and claims again once it is back.
  auto since = nats_down_since_.load();
  if (since == 0) return true;
  auto down = std::chrono::steady_clock::now().time_since_epoch() -
              std::chrono::steady_clock::duration(since);
  return down < config_.lease.ttl;
}

void Worker::on_lost() {
  // The host first: it stops answering at once, without NATS. Then unsubscribe (cnats may wait
  // for a reconnect attempt here): after the lease another worker may subscribe, and a message
  // both of them receive must be run or answered by that one only.
  host_->fence();
  std::lock_guard lock(subs_mutex_);
  metrics_->handovers("lost", subs_.size());
  subs_.clear();
  draining_.clear();
}

void Worker::on_joined(store::WorkerId id) {
  host_->rebind(id);
}

void Worker::drain(std::vector<NatsSubscription>& subs) {
  for (auto& sub : subs) sub.begin_drain();
  auto deadline = std::chrono::steady_clock::now() + WorkerConfig::kHandoverTimeout;
  for (auto& sub : subs) {
    sub.end_drain(std::max(std::chrono::milliseconds(1),
                           std::chrono::duration_cast<std::chrono::milliseconds>(
                               deadline - std::chrono::steady_clock::now())));
  }
}

void Worker::on_leaving(const std::vector<int>& partitions) {
  // Bookkeeping only (the heartbeat's thread makes no cnats call): the handover thread drains.
  std::lock_guard lock(subs_mutex_);
  std::size_t leaving = 0;
  for (int p : partitions) {
    auto it = subs_.find(p);
    if (it == subs_.end()) continue;
    draining_.insert_or_assign(p, std::move(it->second));
    subs_.erase(it);
    ++leaving;
  }
  metrics_->handovers("handed_over", leaving);
}

void Worker::on_handing_over(const std::vector<int>& partitions) {
  std::vector<NatsSubscription> leaving;
  {
    std::lock_guard lock(subs_mutex_);
    for (int p : partitions) {
      auto it = draining_.find(p);
      if (it == draining_.end()) continue;
      leaving.push_back(std::move(it->second));
      draining_.erase(it);
    }
  }
  // NATS stops delivering first; what it already delivered still runs here, then the shards
  // commit it and release the objects; only then is the partition released to the others.
  drain(leaving);
  if (!host_->hand_over_partitions(partitions, WorkerConfig::kHandoverFinishTimeout)) {
    log_->warn("handover of {} partitions: the shards are still finishing", partitions.size());
  }
}

void Worker::on_partitions(const std::vector<int>& owned) {
  std::lock_guard lock(subs_mutex_);
  if (!accepting_) return;
  partitions_known_ = true;
  host_->serve_partitions(owned);
  // Only additions: partitions leave through the handover thread or on_lost, never here.
  std::size_t added = 0;
  for (int p : owned) {
    if (subs_.count(p)) continue;
    subs_.emplace(p, nats_->subscribe(protocol::partition_subscription(p),
                                      [this, registration = id()](natsMsg* msg) {
                                        on_message(msg, registration);
                                      }));
    ++added;
  }
  metrics_->handovers("claimed", added);
  if (added > 0) {
    // No flush here: this runs on the heartbeat's thread, and cnats sends the subscriptions on
    // its own (or on reconnecting).
    log_->info("subscribed to {} new partitions, {} in all", added, subs_.size());
  }
}

void Worker::on_message(natsMsg* raw, store::WorkerId registration) {
  InboundMessage m;
  m.registration = registration;
  m.subject = natsMsg_GetSubject(raw);
  if (const char* reply = natsMsg_GetReply(raw)) m.reply_to = reply;
  if (const char* data = natsMsg_GetData(raw)) m.body.assign(data, natsMsg_GetDataLength(raw));
  auto header = [raw](const char* key) -> std::optional<std::string> {
    const char* value = nullptr;
    if (natsMsgHeader_Get(raw, key, &value) == NATS_OK && value) return std::string(value);
    return std::nullopt;
  };
  m.content_type = header(protocol::kContentTypeHeader);
  m.idempotency_key = header(protocol::kIdempotencyKeyHeader);
  m.timeout_ms = header(protocol::kTimeoutHeader);
  m.traceparent = header(protocol::kTraceparentHeader);
  m.call_chain = header(protocol::kCallChainHeader);
  m.header_bytes = header_bytes(raw);
  nats_->retire(raw);
  host_->dispatch(std::move(m));
}

void Worker::stop() {
  if (!host_) return;
  // Probes see a stopping worker as gone; no scrape reads the host while it goes.
  if (metrics_server_) metrics_server_->stop();
  auto id = this->id();
  log_->info("worker {} stopping: unsubscribing, draining, releasing", id);
  std::vector<NatsSubscription> subs;
  {
    std::lock_guard lock(subs_mutex_);
    accepting_ = false;
    for (auto& [p, sub] : subs_) subs.push_back(std::move(sub));
    subs_.clear();
  }
  drain(subs);  // what NATS already delivered is still served
  nats_watch_->stop();
  if (shard_url_watch_) shard_url_watch_->stop();
  housekeeper_->stop();
  if (storage_housekeeper_) storage_housekeeper_->stop();
  schema_pool_->stop();
  keeper_->finish_handovers();
  host_->stop();    // the lease keeper still renews while the shards commit
  outbox_->stop();  // the shards' last replies went; it flushes no more
  courier_->stop();
  keeper_->stop();
  id = keeper_->id();  // re-registered since start, perhaps; 0 when the lease is gone
  try {
    if (id != 0) {
      auto conn = store::connect(config_.database_url);
      store::WorkerRegistry(*conn).mark_stopped(id);
      if (on_storage_shard()) {
        store::ShardLeaseMirror(*store::connect(storage_url_.get())).mark_stopped(id);
      }
    }
  } catch (const Error& e) {
    log_->warn("could not mark worker {} stopped (its lease expires by itself): {}", id, e.what());
  }
  // NATS closes first so that no late delivery reaches a destroyed host.
  nats_.reset();
  direct_nats_.reset();
  host_.reset();
  keeper_.reset();
  housekeeper_.reset();
  storage_housekeeper_.reset();
  schema_pool_.reset();
  courier_.reset();
  outbox_.reset();
  log_->info("worker {} stopped", id);
}

}  // namespace dobj
