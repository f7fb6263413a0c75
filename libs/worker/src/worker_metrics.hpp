#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dobj/runtime/host_observer.hpp"

namespace dobj {

// The worker's Prometheus metrics (README "Operating dobj"): requests by class, method and
// status, their time in the worker, turn and commit times, commit batch sizes, and gauges the
// worker sets on each scrape.
class WorkerMetrics final : public HostObserver {
 public:
  explicit WorkerMetrics(prometheus::Registry& registry);

  void replied(std::string_view class_name, std::string_view method, std::string_view status,
               std::chrono::nanoseconds in_worker) override;
  void turn_ran(std::string_view class_name, std::string_view method,
                std::chrono::nanoseconds took) override;
  void committed(std::chrono::nanoseconds took, std::size_t objects) override;
  void claimed(std::size_t objects, std::size_t refused, bool ahead) override;

  // Refreshed by the worker before each scrape.
  void set_state(bool lease_valid, std::size_t partitions_owned, std::size_t active_objects,
                 const std::vector<std::size_t>& queue_depths,
                 const std::vector<double>& running_turn_seconds);
  // Partitions that came (claimed), went in order (handed_over) or with the lease (lost).
  void handovers(const char* event, std::size_t partitions);
  void nats_reconnected() { nats_reconnects_.Increment(); }
  // A delivery of a durable message (ctx.send) ended: delivered, retried or dead.
  void message_outcome(const char* outcome) { messages_.Add({{"outcome", outcome}}).Increment(); }
  void set_outbox_senders(std::size_t senders) {
    outbox_senders_.Set(static_cast<double>(senders));
  }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& turn_seconds_;
  prometheus::Family<prometheus::Histogram>& reply_seconds_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& commit_batch_objects_;
  // [ahead][refused]: prometheus' label lookup once, not per claim.
  prometheus::Counter* claims_[2][2];
  prometheus::Gauge& lease_valid_;
  prometheus::Gauge& partitions_owned_;
  prometheus::Gauge& active_objects_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Gauge>& running_turn_;
  prometheus::Family<prometheus::Counter>& handovers_;
  prometheus::Counter& nats_reconnects_;
  prometheus::Family<prometheus::Counter>& messages_;
  prometheus::Gauge& outbox_senders_;
  prometheus::Counter& pg_errors_;
  std::uint64_t pg_errors_seen_ = 0;  // store::storage_error_count at the last scrape
  // Label sets seen so far (bounded: classes × methods × statuses): a lookup without building
  // prometheus' label map on every request.
  std::mutex mutex_;
  std::unordered_map<std::string, prometheus::Counter*> request_counters_;
  std::unordered_map<std::string, prometheus::Histogram*> turn_histograms_;
  std::unordered_map<std::string, prometheus::Histogram*> reply_histograms_;
};

}  // namespace dobj
