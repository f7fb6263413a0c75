#include "worker.hpp"

#include <unistd.h>

#include <set>

#include "dobj/core/logging.hpp"
#include "dobj/examples/register_examples.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/store/partition_table.hpp"
#include "mapping_probe.hpp"

namespace dobj {
namespace {

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

Worker::Worker(WorkerConfig config) : config_(std::move(config)), log_(logger("worker")) {
  examples::register_examples(registry_);
  if (config_.test_classes) examples::register_test_classes(registry_);
}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  {
    auto conn = store::connect(config_.database_url);
    store::MigrationRunner(*conn).require_current();
    partitions_ = store::PartitionTable(*conn).partition_count();
  }
  nats_ = std::make_unique<NatsConnection>(
      NatsConnection::Options{config_.nats_url, "dobj-worker", false});
  verify_partition_mapping(*nats_, partitions_, WorkerConfig::kProbeTimeout);
  log_->info("NATS partition mapping agrees with the database ({} partitions)", partitions_);

  auto& clock = Clock::system();
  auto registered_at = clock.now();
  {
    auto conn = store::connect(config_.database_url);
    id_ = store::WorkerRegistry(*conn).register_worker(
        {host_name(), static_cast<int>(getpid()), DOBJ_VERSION}, config_.lease.ttl);
  }
  config_.host.worker_id = id_;
  config_.host.partitions = partitions_;
  config_.host.database_url = config_.database_url;
  outbox_ = std::make_unique<NatsOutbox>(*nats_);
  keeper_ = std::make_unique<LeaseKeeper>(
      config_.database_url, id_, config_.lease, clock,
      LeaseKeeper::Callbacks{[this](const std::vector<int>& owned) { on_partitions(owned); },
                             [this] {
                               if (host_) host_->fence();
                             }});
  host_ = std::make_unique<Host>(config_.host, registry_, *outbox_, clock,
                                 [this] { return keeper_->valid(); });
  host_->start();
  {
    std::lock_guard lock(subs_mutex_);
    accepting_ = true;
  }
  keeper_->start(registered_at);
  log_->info("worker {} serving with {} shards", id_, config_.host.shards);
}

void Worker::on_partitions(const std::vector<int>& owned) {
  std::lock_guard lock(subs_mutex_);
  if (!accepting_) return;
  std::set<int> want(owned.begin(), owned.end());
  for (auto it = subs_.begin(); it != subs_.end();) {
    it = want.count(it->first) ? std::next(it) : subs_.erase(it);
  }
  std::size_t added = 0;
  for (int p : want) {
    if (subs_.count(p)) continue;
    subs_.emplace(p, nats_->subscribe(protocol::partition_subscription(p),
                                      [this](natsMsg* msg) { on_message(msg); }));
    ++added;
  }
  if (added > 0) {
    nats_->flush(std::chrono::seconds(2));
    log_->info("subscribed to {} new partitions, {} in all", added, subs_.size());
  }
}

void Worker::on_message(natsMsg* raw) {
  InboundMessage m;
  m.subject = natsMsg_GetSubject(raw);
  if (const char* reply = natsMsg_GetReply(raw)) m.reply_to = reply;
  if (const char* data = natsMsg_GetData(raw)) m.body.assign(data, natsMsg_GetDataLength(raw));
  const char* type = nullptr;
  if (natsMsgHeader_Get(raw, protocol::kContentTypeHeader, &type) == NATS_OK && type) {
    m.content_type = type;
  }
  natsMsg_Destroy(raw);
  host_->dispatch(std::move(m));
}

bool Worker::lost() const {
  return keeper_ && keeper_->lost();
}

void Worker::stop() {
  if (!host_) return;
  log_->info("worker {} stopping: unsubscribing, draining, releasing", id_);
  {
    std::lock_guard lock(subs_mutex_);
    accepting_ = false;
    subs_.clear();
  }
  try {
    nats_->flush(std::chrono::seconds(2));
  } catch (const TransportError& e) {
    log_->warn("flush on stop: {}", e.what());
  }
  host_->stop();
  keeper_->stop();
  try {
    auto conn = store::connect(config_.database_url);
    store::WorkerRegistry(*conn).mark_stopped(id_);
  } catch (const Error& e) {
    log_->warn("could not mark worker {} stopped (its lease expires by itself): {}", id_, e.what());
  }
  // NATS closes first so that no late delivery reaches a destroyed host.
  nats_.reset();
  host_.reset();
  keeper_.reset();
  outbox_.reset();
  log_->info("worker {} stopped", id_);
}

}  // namespace dobj
