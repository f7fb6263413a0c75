#include "fault_injector.hpp"

#include <algorithm>
#include <fstream>
#include <limits>

namespace dobj::chaos {
namespace {

constexpr std::chrono::milliseconds kPauseBeyondTtl{1500};
constexpr std::chrono::milliseconds kRestartAfterKill{500};
constexpr std::chrono::milliseconds kPostgresDown{1000};
constexpr std::chrono::milliseconds kStorageShardDown{2000};
// A move takes a block of partitions this big, and waits this long for their workers to let go
// (a paused or cut-off worker's lease must run out first).
constexpr int kMovedPartitions = 16;
constexpr std::chrono::seconds kMoveTimeout{60};
constexpr std::chrono::milliseconds kNatsDown{1000};
// Beyond a worker's ping-based detection would not matter (the socket closes at once): long
// enough that clients and services on the node must reconnect elsewhere to get anything done.
constexpr std::chrono::milliseconds kNatsNodeDown{3000};
constexpr std::chrono::milliseconds kDrainDeadline{30'000};
// A cut link lasts from two to four lease TTLs: long enough for the others to take over.
constexpr int kCutMinTtls = 2;
constexpr int kCutMaxTtls = 4;
constexpr std::chrono::milliseconds kSlowPostgresDelayMin{10};
constexpr std::chrono::milliseconds kSlowPostgresDelayMax{60};
constexpr std::chrono::milliseconds kSlowPostgresFor{5000};
constexpr Fault kAllFaults[] = {Fault::kKillWorker,
                                Fault::kPauseWorker,
                                Fault::kRestartPostgres,
                                Fault::kRestartNats,
                                Fault::kDrainWorker,
                                Fault::kAddWorker,
                                Fault::kCutWorkerFromPostgres,
                                Fault::kCutWorkerFromNats,
                                Fault::kSlowPostgres,
                                Fault::kKillNatsNode,
                                Fault::kRestartStorageShard,
                                Fault::kMovePartitions};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

const char* to_string(Fault f) {
  switch (f) {
    case Fault::kKillWorker:
      return "SIGKILL a worker, start another";
    case Fault::kPauseWorker:
      return "SIGSTOP a worker beyond its lease";
    case Fault::kRestartPostgres:
      return "restart PostgreSQL (control)";
    case Fault::kRestartNats:
      return "restart NATS (every node)";
    case Fault::kDrainWorker:
      return "drain a worker";
    case Fault::kAddWorker:
      return "add a worker";
    case Fault::kCutWorkerFromPostgres:
      return "cut a worker from PostgreSQL only";
    case Fault::kCutWorkerFromNats:
      return "cut a worker from NATS only";
    case Fault::kSlowPostgres:
      return "slow PostgreSQL (added latency)";
    case Fault::kKillNatsNode:
      return "SIGKILL one NATS node, restart it";
    case Fault::kRestartStorageShard:
      return "restart one storage shard";
    case Fault::kMovePartitions:
      return "move partitions to another shard";
  }
  return "?";
}

FaultInjector::FaultInjector(testing::Cluster& cluster, Options options)
    : cluster_(cluster), options_(options), rng_(options.seed) {
  for (auto f : kAllFaults) {
    if (f == Fault::kKillNatsNode && options_.nats_nodes < 2) continue;
    if (f == Fault::kRestartStorageShard && options_.storage_shards < 1) continue;
    if (f == Fault::kMovePartitions && options_.storage_shards < 2) continue;
    kinds_.push_back(f);
  }
  opening_ = kinds_;
  std::shuffle(opening_.begin(), opening_.end(), rng_);
}

FaultInjector::~FaultInjector() {
  stop();
}

void FaultInjector::start() {
  thread_ = std::thread([this] { run(); });
}

void FaultInjector::stop() {
  stopping_ = true;
  join();
}

void FaultInjector::join() {
  if (thread_.joinable()) thread_.join();
}

std::vector<FaultInjector::Record> FaultInjector::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

Fault FaultInjector::pick(std::size_t round) {
  if (round < opening_.size()) return opening_[round];
  std::uniform_int_distribution<std::size_t> any(0, kinds_.size() - 1);
  return kinds_[any(rng_)];
}

std::size_t FaultInjector::any_worker() {
  std::uniform_int_distribution<std::size_t> any(0, cluster_.live_workers() - 1);
  return any(rng_);
}

std::string FaultInjector::inject(Fault f) {
  switch (f) {
    case Fault::kKillWorker: {
      auto i = any_worker();
      auto pid = cluster_.worker(i).process().pid();
      cluster_.kill_worker(i);
      std::this_thread::sleep_for(kRestartAfterKill);
      cluster_.add_worker();
      return "pid " + std::to_string(pid);
    }
    case Fault::kPauseWorker: {
      auto i = any_worker();
      auto pid = cluster_.worker(i).process().pid();
      cluster_.pause_worker(i, options_.lease_ttl + kPauseBeyondTtl);
      return "pid " + std::to_string(pid);
    }
    case Fault::kRestartPostgres:
      cluster_.restart_postgres(kPostgresDown);
      return "";
    case Fault::kRestartNats:
      cluster_.restart_nats(kNatsDown);
      return "";
    case Fault::kDrainWorker: {
      if (cluster_.live_workers() <= options_.min_workers) cluster_.add_worker();
      auto i = any_worker();
      auto pid = cluster_.worker(i).process().pid();
      std::string log;
      if (!cluster_.drain_worker(i, kDrainDeadline, &log)) {
        // The run's directories go with it: the worker's log stays for the post-mortem.
        auto kept = testing::make_temp_dir("dobj-chaos-drain") + "/worker.log";
        std::ofstream(kept) << log;
        throw std::runtime_error("worker pid " + std::to_string(pid) +
                                 " did not drain and exit 0 (its log: " + kept + ")");
      }
      return "pid " + std::to_string(pid);
    }
    case Fault::kAddWorker:
      if (cluster_.live_workers() >= options_.max_workers) {
        cluster_.drain_worker(any_worker(), kDrainDeadline);
      }
      return "pid " + std::to_string(cluster_.add_worker().process().pid());
    case Fault::kCutWorkerFromPostgres:
    case Fault::kCutWorkerFromNats: {
      auto i = any_worker();
      auto pid = cluster_.worker(i).process().pid();
      std::uniform_int_distribution<int> ttls(kCutMinTtls, kCutMaxTtls);
      auto cut = options_.lease_ttl * ttls(rng_);
      if (f == Fault::kCutWorkerFromPostgres) {
        cluster_.cut_from_postgres(i, cut);
      } else {
        cluster_.cut_from_nats(i, cut);
      }
      return "pid " + std::to_string(pid) + " for " + std::to_string(cut.count()) + " ms";
    }
    case Fault::kSlowPostgres: {
      std::uniform_int_distribution<long> ms(kSlowPostgresDelayMin.count(),
                                             kSlowPostgresDelayMax.count());
      auto delay = std::chrono::milliseconds(ms(rng_));
      cluster_.slow_postgres(delay, kSlowPostgresFor);
      return "+" + std::to_string(delay.count()) + " ms each way";
    }
    case Fault::kKillNatsNode: {
      std::uniform_int_distribution<int> any(0, options_.nats_nodes - 1);
      auto node = any(rng_);
      cluster_.kill_nats_node(node, kNatsNodeDown);
      return "node " + std::to_string(node);
    }
    case Fault::kRestartStorageShard: {
      std::uniform_int_distribution<int> any(0, options_.storage_shards - 1);
      auto shard = any(rng_);
      cluster_.restart_storage_shard(shard, kStorageShardDown);
      return "shard " + std::to_string(shard + 1);
    }
    case Fault::kMovePartitions: {
      auto partitions =
          static_cast<int>(cluster_.stack().query_int("SELECT partitions FROM dobj.cluster"));
      std::uniform_int_distribution<int> block(0, partitions / kMovedPartitions - 1);
      int first = block(rng_) * kMovedPartitions;
      int last = first + kMovedPartitions - 1;
      // Blocks never straddle two shards: every range the suite made or moved is whole blocks.
      int from = cluster_.shard_of(first);
      std::uniform_int_distribution<int> other(1, options_.storage_shards - 1);
      int to = (from + other(rng_)) % options_.storage_shards;
      auto output = cluster_.move_partitions(first, last, to, kMoveTimeout);
      // The command's last line says how many objects went.
      auto end = output.find_last_not_of('\n');
      auto start = output.rfind('\n', end);
      auto summary = output.substr(start == std::string::npos ? 0 : start + 1,
                                   end == std::string::npos ? 0 : end - start);
      auto objects = summary.substr(summary.find('(') == std::string::npos ? summary.size()
                                                                           : summary.find('('));
      return "partitions " + std::to_string(first) + "-" + std::to_string(last) + " from shard " +
             std::to_string(from + 1) + " to " + std::to_string(to + 1) + " " + objects;
    }
  }
  return "";
}

void FaultInjector::run() {
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + options_.duration;
  std::uniform_int_distribution<long> gap(options_.min_gap.count(), options_.max_gap.count());
  auto rounds = options_.each_kind_once ? opening_.size() : std::numeric_limits<std::size_t>::max();
  for (std::size_t round = 0;
       round < rounds && !stopping_ && std::chrono::steady_clock::now() < deadline; ++round) {
    auto fault = pick(round);
    Record r{fault, seconds_since(started), 0, true, ""};
    auto t0 = std::chrono::steady_clock::now();
    try {
      r.detail = inject(fault);
    } catch (const std::exception& e) {
      r.ok = false;
      r.detail = e.what();
    }
    r.took_s = seconds_since(t0);
    {
      std::lock_guard lock(mutex_);
      records_.push_back(r);
    }
    // A quiet gap, cut short by stop().
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(gap(rng_));
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace dobj::chaos
