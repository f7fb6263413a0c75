#pragma once

#include <pqxx/connection>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dobj::testing {

// A throwaway PostgreSQL 15 cluster: random port on 127.0.0.1, data in a temp dir, removed when
// the test process exits. Runs as the `postgres` user when the tests run as root.
class PostgresServer {
 public:
  // The process-wide instance, started on first use.
  static PostgresServer& shared();
  // Another server of its own (a storage shard that can be restarted alone).
  static std::unique_ptr<PostgresServer> start_another();
  ~PostgresServer();

  int port() const { return port_; }
  std::string url(const std::string& database) const;
  // Workers and timers log in as this role, a member of dobj_service only (migrations/0008).
  constexpr static const char* kServiceUser = "dobj_worker";

  // A new database with every migration applied (cloned from a migrated template), or an empty
  // one; returns its URL (as the superuser that owns it).
  std::string create_database(bool migrated = true);
  // The same database as kServiceUser: what workers and timers get.
  static std::string service_url(const std::string& database_url);
  // Fault injection: from now on the database refuses every commit of an object whose id
  // starts with "poison" (a trigger standing for any data it cannot take).
  static void poison_commits(const std::string& database_url);
  void stop();
  void start();
  // CPU time of the whole server so far: the postmaster, its live processes and the backends
  // that have exited (benchmarks: database CPU per request).
  double cpu_seconds() const;

 private:
  PostgresServer();

  std::string dir_;
  std::string data_dir_;
  int port_ = 0;
  bool running_ = false;
  int next_db_ = 0;
};

// `table` filled by the statements `fill`, then analyzed with autovacuum off: its statistics stay
// as they are now, however its rows change after (tests of plans made from stale statistics).
void fill_and_freeze_statistics(pqxx::connection& conn, const std::string& table,
                                const std::string& fill);
// A counter of pg_stat_user_tables (a column such as "seq_scan", or an expression of them) for
// `table` (e.g. "dobj.objects") so far, those of `conn`'s own backend included: its counts are
// flushed first (PostgreSQL 15 reports them when the backend next goes idle).
std::int64_t table_counter(pqxx::connection& conn, const std::string& table,
                           const std::string& counter);
// Rows read from `table` so far, by scans and through indexes: a test of a plan's shape (a
// statement that must look rows up by key reads about one row a key).
inline std::int64_t rows_read(pqxx::connection& conn, const std::string& table) {
  return table_counter(conn, table, "seq_tup_read + coalesce(idx_tup_fetch, 0)");
}

}  // namespace dobj::testing
