#include "dobj/store/migration_runner.hpp"

#include <fmt/format.h>

#include <map>
#include <string_view>

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

// The checksums of earlier texts this migration stands for ("-- dobj: replaces checksum <hex>"
// lines at its top): a database that applied one of them has applied this migration.
bool replaces(const Migration& m, const std::string& checksum) {
  constexpr std::string_view kMarker = "-- dobj: replaces checksum ";
  std::string_view rest = m.sql;
  while (rest.starts_with(kMarker)) {
    auto end = rest.find('\n');
    auto line = rest.substr(kMarker.size(), end - kMarker.size());
    if (line == checksum) return true;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return false;
}

void lock_for_migration(pqxx::work& tx) {
  tx.exec0("SET LOCAL statement_timeout = 0");  // a migration may rewrite big tables
  tx.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey));
}

}  // namespace

MigrationRunner::MigrationRunner(pqxx::connection& conn, const std::vector<Migration>& migrations,
                                 const std::vector<Definition>& definitions)
    : conn_(conn), migrations_(migrations), definitions_(definitions) {}

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
  if (definitions_.empty()) return;
  auto recorded = with_storage_errors("reading the definitions", [&] {
    pqxx::nontransaction tx(conn_);
    std::map<std::string, std::string> out;
    for (const auto& row : tx.exec("SELECT name, checksum FROM dobj.definitions")) {
      out[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    return out;
  });
  for (const auto& d : definitions_) {
    auto it = recorded.find(d.name);
    if (it == recorded.end() || it->second != sha256_hex(d.sql)) {
      throw Error(ErrorCode::kStorageError,
                  fmt::format("database runs other definitions than this binary "
                              "(migrations/functions/{}.sql): run `dobj migrate`",
                              d.name));
    }
  }
}

MigrationReport MigrationRunner::migrate(int partitions,
                                         const std::function<void(const std::string&)>& progress) {
  return with_storage_errors("migrating", [&] {
    MigrationReport report;
    {
      pqxx::work tx(conn_);
      lock_for_migration(tx);
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
      lock_for_migration(tx);
      auto checksum = sha256_hex(m.sql);
      auto applied =
          tx.exec_params("SELECT checksum FROM dobj.migrations WHERE version = $1", m.version);
      if (!applied.empty()) {
        auto was = applied[0][0].as<std::string>();
        if (was != checksum && !replaces(m, was)) {
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
    apply_definitions(report, progress);
    report.to_version = current_version();
    return report;
  });
}

void MigrationRunner::apply_definitions(MigrationReport& report,
                                        const std::function<void(const std::string&)>& progress) {
  for (const auto& d : definitions_) {
    pqxx::work tx(conn_);
    lock_for_migration(tx);
    auto checksum = sha256_hex(d.sql);
    auto recorded = tx.exec_params("SELECT checksum FROM dobj.definitions WHERE name = $1", d.name);
    if (!recorded.empty() && recorded[0][0].as<std::string>() == checksum) continue;
    progress("applying functions/" + d.name);
    tx.exec(d.sql);
    tx.exec_params0(
        "INSERT INTO dobj.definitions (name, checksum) VALUES ($1, $2) ON CONFLICT (name) DO "
        "UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()",
        d.name, checksum);
    tx.commit();
    report.applied.push_back("functions/" + d.name);
  }
}

}  // namespace dobj::store
