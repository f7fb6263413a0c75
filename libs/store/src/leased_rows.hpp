#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "dobj/store/worker_registry.hpp"
#include "sql_values.hpp"

namespace dobj::store {

// dobj.workers and dobj.timers have one shape: a process row with a lease in database time.

inline std::int64_t insert_leased_row(pqxx::transaction_base& tx, const std::string& table,
                                      const WorkerInfo& info, std::chrono::milliseconds ttl) {
  return tx
      .exec_params1("INSERT INTO " + table +
                        " (host, pid, version, lease_until, metrics_addr) "
                        "VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5) RETURNING id",
                    info.host, info.pid, info.version, seconds(ttl),
                    info.metrics_addr.empty() ? std::optional<std::string>()
                                              : std::optional<std::string>(info.metrics_addr))[0]
      .as<std::int64_t>();
}

// Extends the lease by ttl from now(), only while it is still running: an expired lease is gone.
// Returns the row's state ("serving", "draining"), or nullopt when the lease was already gone.
inline std::optional<std::string> renew_leased_row(pqxx::transaction_base& tx,
                                                   const std::string& table, std::int64_t id,
                                                   std::chrono::milliseconds ttl) {
  auto rows = tx.exec_params("UPDATE " + table +
                                 " SET heartbeat_at = now(), "
                                 "lease_until = now() + make_interval(secs => $2) "
                                 "WHERE id = $1 AND state <> 'stopped' AND lease_until > now() "
                                 "RETURNING state",
                             id, seconds(ttl));
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

}  // namespace dobj::store
