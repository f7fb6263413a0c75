#pragma once

#include <chrono>
#include <cstddef>

#include <pqxx/pqxx>

namespace dobj::store {

// How long the shared tables keep what is no longer live (dobj-worker --*-retention-h flags).
struct Retention {
  constexpr static std::chrono::hours kDefaultHandovers{7 * 24};
  constexpr static std::chrono::hours kDefaultDeparted{7 * 24};
  constexpr static std::chrono::hours kDefaultDeadAlarms{30 * 24};

  std::chrono::hours handovers = kDefaultHandovers;  // dobj.partition_log
  // Workers and timers whose lease ran out this long ago (stopped or dead).
  std::chrono::hours departed = kDefaultDeparted;
  std::chrono::hours dead_alarms = kDefaultDeadAlarms;  // dobj.dead_alarms
};

// Each deletes at most `limit` rows and returns how many went.
// Handover history (dobj.partition_log, dobj_admin.handovers) older than `keep`.
std::size_t prune_handovers(pqxx::connection& conn, std::chrono::hours keep, std::size_t limit);
// Workers gone longer than `keep`: partitions and objects still naming them as owner are freed
// first (their leases ran out long ago; a worker that comes back registers under a new id).
std::size_t prune_departed_workers(pqxx::connection& conn, std::chrono::hours keep,
                                   std::size_t limit);
std::size_t prune_departed_timers(pqxx::connection& conn, std::chrono::hours keep,
                                  std::size_t limit);
std::size_t prune_dead_alarms(pqxx::connection& conn, std::chrono::hours keep, std::size_t limit);

}  // namespace dobj::store
