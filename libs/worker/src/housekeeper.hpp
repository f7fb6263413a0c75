#pragma once

#include <chrono>
#include <string>

#include "dobj/core/periodic_task.hpp"
#include "dobj/store/lazy_connection.hpp"
#include "dobj/store/retention.hpp"

namespace dobj {

// Keeps the shared tables bounded (stored idempotency replies past their window, the handover
// log, departed workers and timers, dead alarms past their retention) in small deletes on its
// own connection and thread, so that housekeeping never delays a heartbeat. Every worker sweeps:
// no janitor process needed. A sweep repeats a table's delete while it finds a full batch, so it
// keeps up with any rate below kBatch rows per kInterval per worker.
// Lifecycle: start() → stop(); step() runs one sweep (the test hook).
class Housekeeper {
 public:
  constexpr static std::chrono::milliseconds kInterval{1'000};
  constexpr static std::size_t kBatch = 10'000;
  // A sweep stops after this many batches of one table, to be fair to the database.
  constexpr static int kMaxBatchesPerSweep = 20;

  Housekeeper(store::ConnectionUrl database_url, store::Retention retention);
  ~Housekeeper();
  void start() { task_.start(); }
  void stop() { task_.stop(); }
  void step() { task_.step_now(); }

 private:
  void sweep();

  store::Retention retention_;
  store::LazyConnection conn_;
  PeriodicTask task_;
};

}  // namespace dobj
