#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dobj/testing/cluster.hpp"

namespace dobj::chaos {

enum class Fault {
  kKillWorker,
  kPauseWorker,
  kRestartPostgres,
  kRestartNats,
  kDrainWorker,
  kAddWorker,
  kCutWorkerFromPostgres,
  kCutWorkerFromNats,
  kSlowPostgres,
  kKillNatsNode,         // a cluster's only
  kRestartStorageShard,  // with storage shards only
  kMovePartitions,       // with two storage shards or more
};
const char* to_string(Fault f);

// Injects faults into a Cluster one at a time, with quiet gaps between them, until stopped or
// its time is up. The first faults are one of each kind (in random order), so that even a short
// run covers them all; the rest are random. Worker count stays within [min_workers, max_workers].
// Lifecycle: start() → stop() (finishes the fault under way, leaves everything running).
class FaultInjector {
 public:
  struct Options {
    std::chrono::milliseconds duration{60'000};
    std::chrono::milliseconds min_gap{1500};
    std::chrono::milliseconds max_gap{3500};
    std::chrono::milliseconds lease_ttl{2000};  // a pause lasts beyond it
    std::size_t min_workers = 2;
    std::size_t max_workers = 4;
    std::uint32_t seed = 1;
    int nats_nodes = 1;      // the cluster's; with more than one, one node at a time is also killed
    int storage_shards = 0;  // the cluster's; with any, one shard's server at a time restarts
    // Stop after one fault of each kind (the short mode), or at `duration` if that comes first.
    bool each_kind_once = false;
  };
  struct Record {
    Fault fault;
    double at_s;  // since start
    double took_s;
    bool ok;
    std::string detail;
  };

  FaultInjector(testing::Cluster& cluster, Options options);
  ~FaultInjector();
  void start();
  void stop();
  // Waits until the run's duration is over (the injector stops by itself then).
  void join();
  std::vector<Record> records() const;

 private:
  void run();
  Fault pick(std::size_t round);
  std::string inject(Fault f);
  std::size_t any_worker();

  testing::Cluster& cluster_;
  Options options_;
  std::mt19937 rng_;
  std::vector<Fault> kinds_;  // the faults this cluster can take
  std::vector<Fault> opening_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<Record> records_;
  std::thread thread_;
};

}  // namespace dobj::chaos
