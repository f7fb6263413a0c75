#include "worker_metrics.hpp"

#include "dobj/store/database.hpp"

namespace dobj {
namespace {

// 100 µs to 10 s, for turns and commits alike.
const prometheus::Histogram::BucketBoundaries kSecondsBuckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
// A reply's time in the worker: finer where a commit's fsync puts most of them (0.25-5 ms).
const prometheus::Histogram::BucketBoundaries kReplyBuckets{
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
    0.01,   0.015,   0.025,  0.05,    0.1,   0.25,   0.5,   1,     2.5,   10};
const prometheus::Histogram::BucketBoundaries kObjectsBuckets{1,  2,  4,   8,   16,
                                                              32, 64, 128, 256, 512};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

std::string key_of(std::string_view a, std::string_view b, std::string_view c = {}) {
  std::string key;
  key.reserve(a.size() + b.size() + c.size() + 2);
  key.append(a).push_back('\0');
  key.append(b).push_back('\0');
  key.append(c);
  return key;
}

}  // namespace

WorkerMetrics::WorkerMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("dobj_requests_total")
                    .Help("Requests answered, by class, method and status (ok or the error code)")
                    .Register(registry)),
      turn_seconds_(prometheus::BuildHistogram()
                        .Name("dobj_turn_seconds")
                        .Help("Time a turn's handler ran, without its commit")
                        .Register(registry)),
      reply_seconds_(prometheus::BuildHistogram()
                         .Name("dobj_reply_seconds")
                         .Help("Time from the worker taking a message to the reply its turn gave "
                               "leaving (queue, turn and commit; a continuation's reply counts "
                               "from the call's result)")
                         .Register(registry)),
      commit_seconds_(prometheus::BuildHistogram()
                          .Name("dobj_commit_seconds")
                          .Help("Time of a shard's batch commit")
                          .Register(registry)
                          .Add({}, kSecondsBuckets)),
      commit_batch_objects_(prometheus::BuildHistogram()
                                .Name("dobj_commit_batch_objects")
                                .Help("Objects committed together in one transaction")
                                .Register(registry)
                                .Add({}, kObjectsBuckets)),
      claims_{},
      lease_valid_(prometheus::BuildGauge()
                       .Name("dobj_lease_valid")
                       .Help("1 while the worker's lease is valid")
                       .Register(registry)
                       .Add({})),
      partitions_owned_(prometheus::BuildGauge()
                            .Name("dobj_partitions_owned")
                            .Help("Partitions this worker owns and serves")
                            .Register(registry)
                            .Add({})),
      active_objects_(prometheus::BuildGauge()
                          .Name("dobj_active_objects")
                          .Help("Objects in memory on this worker")
                          .Register(registry)
                          .Add({})),
      queue_depth_(prometheus::BuildGauge()
                       .Name("dobj_queue_depth")
                       .Help("Messages queued in a shard, not yet run or answered")
                       .Register(registry)),
      running_turn_(prometheus::BuildGauge()
                        .Name("dobj_running_turn_seconds")
                        .Help("How long the turn running in a shard has run so far (0 between "
                              "turns); past --max-turn-ms the worker gives up")
                        .Register(registry)),
      handovers_(prometheus::BuildCounter()
                     .Name("dobj_handovers_total")
                     .Help("Partitions by event: claimed, handed_over, lost (with the lease)")
                     .Register(registry)),
      nats_reconnects_(prometheus::BuildCounter()
                           .Name("dobj_nats_reconnects_total")
                           .Help("Times the NATS connection came back after being down")
                           .Register(registry)
                           .Add({})),
      messages_(prometheus::BuildCounter()
                    .Name("dobj_messages_total")
                    .Help("Deliveries of durable messages (ctx.send) by outcome: delivered, "
                          "retried, dead")
                    .Register(registry)),
      outbox_senders_(prometheus::BuildGauge()
                          .Name("dobj_outbox_senders")
                          .Help("Senders whose durable messages this worker is delivering")
                          .Register(registry)
                          .Add({})),
      pg_errors_(prometheus::BuildCounter()
                     .Name("dobj_pg_errors_total")
                     .Help("PostgreSQL calls that failed (storage errors, broken connections)")
                     .Register(registry)
                     .Add({})) {
  for (const char* event : {"claimed", "handed_over", "lost"}) handovers_.Add({{"event", event}});
  for (const char* outcome : {"delivered", "retried", "dead"})
    messages_.Add({{"outcome", outcome}});
  auto& claims = prometheus::BuildCounter()
                     .Name("dobj_object_claims_total")
                     .Help(
                         "Objects claimed by the shards before their first turn, by when (in "
                         "turn, or ahead while a commit ran) and outcome (claimed, or refused: "
                         "the database gave the object's partition to no lease of this worker)")
                     .Register(registry);
  for (int ahead : {0, 1}) {
    for (int refused : {0, 1}) {
      claims_[ahead][refused] = &claims.Add(
          {{"when", ahead ? "ahead" : "in_turn"}, {"outcome", refused ? "refused" : "claimed"}});
    }
  }
}

void WorkerMetrics::replied(std::string_view class_name, std::string_view method,
                            std::string_view status, std::chrono::nanoseconds in_worker) {
  prometheus::Counter* counter;
  prometheus::Histogram* histogram = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto& slot = request_counters_[key_of(class_name, method, status)];
    if (!slot) {
      slot = &requests_.Add({{"class", std::string(class_name)},
                             {"method", std::string(method)},
                             {"status", std::string(status)}});
    }
    counter = slot;
    // Refusals before routing took no time worth a histogram, and have no labels.
    if (!class_name.empty()) {
      auto& h = reply_histograms_[key_of(class_name, method)];
      if (!h) {
        h = &reply_seconds_.Add(
            {{"class", std::string(class_name)}, {"method", std::string(method)}}, kReplyBuckets);
      }
      histogram = h;
    }
  }
  counter->Increment();
  if (histogram) histogram->Observe(seconds(in_worker));
}

void WorkerMetrics::turn_ran(std::string_view class_name, std::string_view method,
                             std::chrono::nanoseconds took) {
  auto key = key_of(class_name, method);
  prometheus::Histogram* histogram;
  {
    std::lock_guard lock(mutex_);
    auto& slot = turn_histograms_[key];
    if (!slot) {
      slot = &turn_seconds_.Add(
          {{"class", std::string(class_name)}, {"method", std::string(method)}}, kSecondsBuckets);
    }
    histogram = slot;
  }
  histogram->Observe(seconds(took));
}

void WorkerMetrics::committed(std::chrono::nanoseconds took, std::size_t objects) {
  commit_seconds_.Observe(seconds(took));
  commit_batch_objects_.Observe(static_cast<double>(objects));
}

void WorkerMetrics::claimed(std::size_t objects, std::size_t refused, bool ahead) {
  claims_[ahead][0]->Increment(static_cast<double>(objects));
  claims_[ahead][1]->Increment(static_cast<double>(refused));
}

void WorkerMetrics::set_state(bool lease_valid, std::size_t partitions_owned,
                              std::size_t active_objects,
                              const std::vector<std::size_t>& queue_depths,
                              const std::vector<double>& running_turn_seconds) {
  lease_valid_.Set(lease_valid ? 1 : 0);
  partitions_owned_.Set(static_cast<double>(partitions_owned));
  active_objects_.Set(static_cast<double>(active_objects));
  for (std::size_t i = 0; i < queue_depths.size(); ++i) {
    queue_depth_.Add({{"shard", std::to_string(i)}}).Set(static_cast<double>(queue_depths[i]));
  }
  for (std::size_t i = 0; i < running_turn_seconds.size(); ++i) {
    running_turn_.Add({{"shard", std::to_string(i)}}).Set(running_turn_seconds[i]);
  }
  std::lock_guard lock(mutex_);
  auto errors = store::storage_error_count.load();
  pg_errors_.Increment(static_cast<double>(errors - pg_errors_seen_));
  pg_errors_seen_ = errors;
}

void WorkerMetrics::handovers(const char* event, std::size_t partitions) {
  if (partitions > 0) handovers_.Add({{"event", event}}).Increment(static_cast<double>(partitions));
}

}  // namespace dobj
