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

// A repeatable definition (migrations/functions/NN_name.sql): functions, views, triggers.
struct Definition {
  std::string name;  // "30_commit_objects"
  std::string sql;
};

// migrations/*.sql as compiled into this binary, in version order.
const std::vector<Migration>& bundled_migrations();
// migrations/functions/*.sql as compiled into this binary, in name order.
const std::vector<Definition>& bundled_definitions();

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;  // "0001_core", ..., "functions/30_commit_objects", ...
};

// Applies migrations in order, each in its own transaction under an advisory lock, recording
// them in dobj.migrations, then the definitions whose checksum changed (dobj.definitions).
// Idempotent; refuses (Error kStorageError) a database whose version is newer than this binary's
// or whose applied migration differs from the bundled one (unless the bundled one says it
// replaces that text: a first line "-- dobj: replaces checksum <sha256>").
class MigrationRunner {
 public:
  explicit MigrationRunner(pqxx::connection& conn,
                           const std::vector<Migration>& migrations = bundled_migrations(),
                           const std::vector<Definition>& definitions = bundled_definitions());

  // partitions applies only to a database that has none yet.
  MigrationReport migrate(
      int partitions,
      const std::function<void(const std::string&)>& progress = [](const std::string&) {});
  int current_version();
  int latest_version() const;
  // Throws unless the database is exactly at latest_version() and runs this binary's
  // definitions: what a worker needs to start.
  void require_current();

 private:
  void apply_definitions(MigrationReport& report,
                         const std::function<void(const std::string&)>& progress);

  pqxx::connection& conn_;
  const std::vector<Migration>& migrations_;
  const std::vector<Definition>& definitions_;
};

}  // namespace dobj::store
