#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "dobj/core/periodic_task.hpp"

namespace dobj {

// Keeps the worker's shared tables bounded (stored idempotency replies past their window, the
// handover log past its history) in small deletes on its own connection and thread, so that
// housekeeping never delays a heartbeat. Every worker sweeps a little: no janitor process needed.
// Lifecycle: start() → stop(); step() runs one sweep (the test hook).
class Housekeeper {
 public:
  constexpr static std::chrono::milliseconds kInterval{10'000};
  constexpr static std::size_t kBatch = 10'000;
  constexpr static std::chrono::hours kHandoverHistory{7 * 24};  // dobj_admin.handovers

  explicit Housekeeper(std::string database_url);
  ~Housekeeper();
  void start() { task_.start(); }
  void stop() { task_.stop(); }
  void step() { task_.step_now(); }

 private:
  void sweep();

  std::string database_url_;
  std::unique_ptr<pqxx::connection> conn_;
  PeriodicTask task_;
};

}  // namespace dobj
