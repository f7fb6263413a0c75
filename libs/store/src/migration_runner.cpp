#include "dobj/store/migration_runner.hpp"

#include <fmt/format.h>

#include "dobj/core/error.hpp"
#include "dobj/core/names.hpp"
#include "dobj/store/database.hpp"

namespace dobj::store {
namespace {

// Serialises concurrent `dobj migrate` runs; the number is arbitrary but fixed.
constexpr std::int64_t kMigrationLockKey = 0x646f626a6d6967;  // "dobjmig"

constexpr const char* kLedgerSql =
    "CREATE SCHEMA IF NOT EXISTS dobj;"
    "CREATE TABLE IF NOT EXISTS dobj.migrations("
    " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

std::string label(const Migration& m) {
  return fmt::format("{:04d}_{}", m.version, m.name);
}

}  // namespace

MigrationRunner::MigrationRunner(pqxx::connection& conn, const std::vector<Migration>& migrations)
    : conn_(conn), migrations_(migrations) {}

int MigrationRunner::latest_version() const {
  return migrations_.empty() ? 0 : migrations_.back().version;
}

int MigrationRunner::current_version() {
  return with_storage_errors("reading the schema version", [&] {
    pqxx::nontransaction tx(conn_);
    auto exists = tx.exec1("SELECT to_regclass('dobj.migrations') IS NOT NULL")[0].as<bool>();
    if (!exists) return 0;
    return tx.exec1("SELECT coalesce(max(version), 0) FROM dobj.migrations")[0].as<int>();
  });
}

void MigrationRunner::require_current() {
  int current = current_version();
  if (current < latest_version()) {
    throw Error(ErrorCode::kStorageError,
                fmt::format("database schema is at version {}, this binary needs {}: run `dobj "
                            "migrate`",
                            current, latest_version()));
  }
  if (current > latest_version()) {
    throw Error(ErrorCode::kStorageError,
                fmt::format("database schema version {} is newer than this binary ({}): upgrade "
                            "dobj",
                            current, latest_version()));
  }
}

MigrationReport MigrationRunner::migrate(int partitions,
                                         const std::function<void(const std::string&)>& progress) {
  return with_storage_errors("migrating", [&] {
    MigrationReport report;
    {
      pqxx::work tx(conn_);
      tx.exec0("SET LOCAL statement_timeout = 0");  // a migration may rewrite big tables
      tx.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey));
      tx.exec(kLedgerSql);
      tx.commit();
    }
    report.from_version = current_version();
    if (report.from_version > latest_version()) {
      throw Error(ErrorCode::kStorageError,
                  fmt::format("database schema version {} is newer than this binary ({}): "
                              "refusing to migrate",
                              report.from_version, latest_version()));
    }
    for (const auto& m : migrations_) {
      pqxx::work tx(conn_);
      tx.exec0("SET LOCAL statement_timeout = 0");
      tx.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey));
      auto checksum = sha256_hex(m.sql);
      auto applied =
          tx.exec_params("SELECT checksum FROM dobj.migrations WHERE version = $1", m.version);
      if (!applied.empty()) {
        if (applied[0][0].as<std::string>() != checksum) {
          throw Error(ErrorCode::kStorageError,
                      "migration " + label(m) +
                          " was applied with different contents; refusing to continue");
        }
        continue;
      }
      progress("applying " + label(m));
      tx.exec0(fmt::format("SET LOCAL dobj.partitions = {}", partitions));
      tx.exec(m.sql);
      tx.exec_params0("INSERT INTO dobj.migrations(version, name, checksum) VALUES ($1, $2, $3)",
                      m.version, m.name, checksum);
      tx.commit();
      report.applied.push_back(label(m));
    }
    report.to_version = current_version();
    return report;
  });
}

}  // namespace dobj::store
