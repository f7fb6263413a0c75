#pragma once

#include <pqxx/pqxx>

#include <functional>
#include <string>
#include <vector>

namespace dobj::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// migrations/*.sql as compiled into this binary, in version order.
const std::vector<Migration>& bundled_migrations();

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;  // "0001_core", ...
};

// Applies migrations in order, each in its own transaction under an advisory lock, recording
// them in dobj.migrations. Idempotent; refuses (Error kStorageError) a database whose version is
// newer than this binary's or whose applied migration differs from the bundled one.
class MigrationRunner {
 public:
  explicit MigrationRunner(pqxx::connection& conn,
                           const std::vector<Migration>& migrations = bundled_migrations());

  // partitions applies only to a database that has none yet.
  MigrationReport migrate(
      int partitions,
      const std::function<void(const std::string&)>& progress = [](const std::string&) {});
  int current_version();
  int latest_version() const;
  // Throws unless the database is exactly at latest_version(): what a worker needs to start.
  void require_current();

 private:
  pqxx::connection& conn_;
  const std::vector<Migration>& migrations_;
};

}  // namespace dobj::store
