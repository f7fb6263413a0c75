#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dobj/store/object_store.hpp"
#include "dobj/store/worker_registry.hpp"

namespace dobj::store {

using TimerId = std::int64_t;

struct ClaimedAlarm {
  std::string class_name;
  std::string object_id;
  int partition = 0;
  EpochMicros due_at = 0;   // as the object set it
  EpochMicros fire_at = 0;  // due_at, or the retry's time
  int retry_count = 0;
  std::string traceparent{};  // of the turn that set it ("" for none): the alarm turn's parent
};

// Which object's alarm.
struct AlarmKey {
  std::string class_name;
  std::string object_id;
};

// dobj.alarms as a timer sees it (DESIGN.md §6): claims with a lease, failures with backoff,
// dead alarms. One instance per connection, one thread.
class AlarmStore {
 public:
  AlarmStore(pqxx::connection& conn) : conn_(conn) {}

  TimerId register_timer(const WorkerInfo& info, std::chrono::milliseconds ttl);
  // Renews the timer's lease and extends those of its claims on `held` (the alarms it has in
  // hand) that have less than half of `ttl` left (to `ttl` from now), so each claim outlives the
  // next renewal as long as renewals come more often than every ttl / 2. A claim the timer no
  // longer holds is left to expire. False if the lease ran out.
  bool renew(TimerId id, std::chrono::milliseconds ttl, const std::vector<AlarmKey>& held);
  // Ends the lease and frees the timer's claims.
  void stop(TimerId id);
  void count_fired(TimerId id, std::int64_t n);

  // Claims (FOR UPDATE SKIP LOCKED) up to `limit` unclaimed or expired alarms due before
  // now + window, soonest first, for `claim_ttl`.
  std::vector<ClaimedAlarm> claim_due(TimerId id, std::chrono::milliseconds window,
                                      std::size_t limit, std::chrono::milliseconds claim_ttl);
  // The alarms failed with `error`: each is retried after base_backoff * 2^retry_count, or moved
  // to dobj.dead_alarms once it has failed max_retries + 1 times. Only a row still the one fired
  // (same due_at, still claimed by this timer) changes: an object that set a new time meanwhile
  // keeps it. One statement for them all, whatever their number: a burst's timeouts recorded
  // one by one, a commit each, starved the timer's heartbeat until its lease ran out.
  // A row a worker's commit holds is skipped, not waited for (that commit deletes or resets the
  // alarm; if it rolls back, the claim expires and the alarm fires again).
  // Returns how many this buried.
  std::size_t record_failures(TimerId id, const std::vector<ClaimedAlarm>& alarms,
                              const std::string& error, int max_retries,
                              std::chrono::milliseconds base_backoff);
  // Gives the alarms back unchanged, to be fired again after `delay` (no worker served them).
  // Rows a commit holds are skipped, as in record_failures.
  void postpone(TimerId id, const std::vector<ClaimedAlarm>& alarms,
                std::chrono::milliseconds delay);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
