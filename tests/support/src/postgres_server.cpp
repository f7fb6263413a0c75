#include "dobj/testing/postgres_server.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>

#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/testing/process.hpp"

namespace dobj::testing {
namespace {

std::string bin(const std::string& tool) {
  const char* dir = std::getenv("DOBJ_PG_BINDIR");
  return std::string(dir && *dir ? dir : "/usr/lib/postgresql/15/bin") + "/" + tool;
}

std::mutex g_mutex;

constexpr unsigned long long kMinShmBytes = 2ULL << 30;

bool durable() {
  const char* fsync = std::getenv("DOBJ_TEST_PG_FSYNC");
  return fsync && std::string(fsync) == "on";
}

// Where test clusters live. Tests do not need their data to outlive the machine, and on this
// kind of machine writing a new cluster to disk costs more than initdb itself (copying 39 MB:
// 0.75 s to /tmp, 0.1 s to /dev/shm): they go to memory when it is there. A server that
// measures durable commits (DOBJ_TEST_PG_FSYNC=on) stays on disk, where fsync means something.
// DOBJ_TEST_PG_DIR overrides both.
std::string base_dir() {
  if (const char* dir = std::getenv("DOBJ_TEST_PG_DIR"); dir && *dir) return dir;
  if (!durable() && access("/dev/shm", W_OK | X_OK) == 0) {
    // A container's /dev/shm may be small (Docker's default is 64 MB): memory only with room
    // for a chaos run's three servers.
    struct statvfs fs {};
    if (statvfs("/dev/shm", &fs) == 0 && fs.f_bavail * fs.f_frsize >= kMinShmBytes) {
      return "/dev/shm";
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// An exclusive flock on a file, held while in scope.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600)) {
    if (fd_ < 0 || flock(fd_, LOCK_EX) != 0) {
      if (fd_ >= 0) close(fd_);
      throw std::runtime_error("cannot lock " + path);
    }
  }
  ~FileLock() { close(fd_); }  // releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// What a migrated test database is made of: a cluster cached with a template that other
// migrations made is another cluster.
std::size_t migrations_hash() {
  std::string all;
  for (const auto& m : store::bundled_migrations()) all += m.name + '\n' + m.sql + '\n';
  for (const auto& d : store::bundled_definitions()) all += d.name + '\n' + d.sql + '\n';
  return std::hash<std::string>{}(all);
}

// Runs a command as the cluster's owner: PostgreSQL refuses root.
void run_as_owner(const std::vector<std::string>& argv) {
  std::vector<std::string> full;
  if (geteuid() == 0) full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  std::string output;
  if (run_command(full, &output) != 0) {
    throw std::runtime_error("command failed: " + argv[0] + "\n" + output);
  }
}

std::string server_url(int port, const std::string& database) {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/" + database;
}

// Starts a server on `data_dir` and waits until it takes connections.
void start_server(const std::string& data_dir, const std::string& socket_dir, int port,
                  const std::string& log) {
  // fsync off: test data need not survive a machine crash, and it keeps the suites fast.
  // Benchmarks measure durable commits: DOBJ_TEST_PG_FSYNC=on.
  // DOBJ_TEST_PG_OPTIONS adds server options for profiling by hand, e.g.
  // "-c shared_preload_libraries=pg_stat_statements".
  std::string options = "-p " + std::to_string(port) + " -k " + socket_dir +
                        " -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=" +
                        (durable() ? "on" : "off");
  if (const char* extra = std::getenv("DOBJ_TEST_PG_OPTIONS"); extra && *extra) {
    options += std::string(" ") + extra;
  }
  run_as_owner(
      {bin("pg_ctl"), "-D", data_dir, "-l", log, "-w", "-t", "60", "-o", options, "start"});
}

// `mode`: pg_ctl's shutdown mode ("fast" ends cleanly: a copy of the cluster starts at once).
void stop_server(const std::string& data_dir, const char* mode) {
  run_as_owner({bin("pg_ctl"), "-D", data_dir, "-m", mode, "-w", "stop"});
}

// Makes `data_dir`'s database dobj_template, migrated, and the service user, with a server of
// its own started for that and stopped again.
void migrate_template(const std::string& data_dir) {
  auto port = free_port();
  start_server(data_dir, data_dir, port, data_dir + "/template.log");
  try {
    {
      auto admin = store::connect(server_url(port, "postgres"));
      pqxx::nontransaction(*admin).exec0("CREATE DATABASE dobj_template");
    }
    auto conn = store::connect(server_url(port, "dobj_template"));
    store::MigrationRunner(*conn).migrate(256);
    pqxx::nontransaction tx(*conn);
    tx.exec0("CREATE ROLE " + std::string(PostgresServer::kServiceUser) + " LOGIN");
    tx.exec0("GRANT dobj_service TO " + std::string(PostgresServer::kServiceUser));
  } catch (...) {
    stop_server(data_dir, "immediate");
    throw;
  }
  stop_server(data_dir, "fast");
}

// initdb and the template's migrations are most of a test server's start (0.55 s of 1 s here
// for initdb alone, 0.3 s for the template), and every pg and integration test process starts
// a server: they copy a cluster made once per machine, PostgreSQL build, user and set of
// migrations. A file lock makes the processes ctest runs side by side wait for the first.
// (Clusters of earlier migrations stay in `base` until the machine's next boot when it is
// /dev/shm; they are about 50 MB each.)
std::string cached_cluster(const std::string& base) {
  auto cache = base + "/dobj-pg-cluster-v2-" +
               std::to_string(std::hash<std::string>{}(bin("initdb"))) + "-" +
               std::to_string(migrations_hash()) + "-" + std::to_string(geteuid());
  FileLock lock(cache + ".lock");
  // Made under a temporary name and renamed: a cluster in place is a complete one.
  if (!std::filesystem::exists(cache + "/PG_VERSION")) {
    remove_tree(cache + ".new");
    run_as_owner({bin("initdb"), "-D", cache + ".new", "-U", "postgres", "--auth=trust", "-E",
                  "UTF8", "--no-sync", "--no-instructions"});
    migrate_template(cache + ".new");
    std::filesystem::remove(cache + ".new/template.log");
    std::filesystem::rename(cache + ".new", cache);
  }
  return cache;
}

}  // namespace

PostgresServer& PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

std::unique_ptr<PostgresServer> PostgresServer::start_another() {
  return std::unique_ptr<PostgresServer>(new PostgresServer());
}

PostgresServer::PostgresServer() {
  auto base = base_dir();
  dir_ = make_temp_dir(base, "dobj-pg");
  data_dir_ = dir_ + "/data";
  if (geteuid() == 0) {
    // Postgres refuses root: the cluster belongs to the postgres user.
    passwd* pw = getpwnam("postgres");
    if (!pw) throw std::runtime_error("running as root needs the postgres user (apt postgresql)");
    if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("cannot chown " + dir_);
    }
  }
  auto cluster = cached_cluster(base);
  run_as_owner({"/bin/cp", "-a", cluster, data_dir_});
  port_ = free_port();
  start();
}

PostgresServer::~PostgresServer() {
  stop();
  remove_tree(dir_);
}

void PostgresServer::start() {
  start_server(data_dir_, dir_, port_, dir_ + "/server.log");
  running_ = true;
}

void PostgresServer::stop() {
  if (!running_) return;
  stop_server(data_dir_, "fast");
  running_ = false;
}

std::string PostgresServer::url(const std::string& database) const {
  return server_url(port_, database);
}

std::string PostgresServer::create_database(bool migrated) {
  std::lock_guard lock(g_mutex);
  auto admin = store::connect(url("postgres"));
  // dobj_template came with the cluster (cached_cluster).
  auto name = "dobj_test_" + std::to_string(getpid()) + "_" + std::to_string(next_db_++);
  pqxx::nontransaction tx(*admin);
  tx.exec0("CREATE DATABASE " + name + (migrated ? " TEMPLATE dobj_template" : ""));
  // A database's own grants are not copied from its template (migrations/0008 made these).
  if (migrated) tx.exec0("GRANT CONNECT, CREATE ON DATABASE " + name + " TO dobj_service");
  return url(name);
}

void PostgresServer::poison_commits(const std::string& database_url) {
  auto conn = store::connect(database_url);
  pqxx::nontransaction tx(*conn);
  tx.exec0(R"sql(
    CREATE FUNCTION public.poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id LIKE 'poison%' AND NEW.version > OLD.version THEN
        RAISE EXCEPTION 'poisoned object %', NEW.id;
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER poison BEFORE UPDATE ON dobj.objects
      FOR EACH ROW EXECUTE FUNCTION public.poison())sql");
}

std::string PostgresServer::service_url(const std::string& database_url) {
  const std::string owner = "postgresql://postgres@";
  if (database_url.rfind(owner, 0) != 0) return database_url;
  return "postgresql://" + std::string(kServiceUser) + "@" + database_url.substr(owner.size());
}

double PostgresServer::cpu_seconds() const {
  // postmaster.pid's first line is the postmaster's pid.
  auto pid = static_cast<pid_t>(std::stol(read_file(data_dir_ + "/postmaster.pid")));
  double total = testing::cpu_seconds(pid, true);
  for (auto child : child_pids(pid)) total += testing::cpu_seconds(child);
  return total;
}

void fill_and_freeze_statistics(pqxx::connection& conn, const std::string& table,
                                const std::string& fill) {
  pqxx::nontransaction(conn).exec0("ALTER TABLE " + table + " SET (autovacuum_enabled = false);" +
                                   fill + ";ANALYZE " + table);
}

std::int64_t table_counter(pqxx::connection& conn, const std::string& table,
                           const std::string& counter) {
  pqxx::nontransaction(conn).exec("SELECT pg_stat_force_next_flush()");
  return pqxx::nontransaction(conn)
      .exec1("SELECT " + counter + " FROM pg_stat_user_tables WHERE relid = " + conn.quote(table) +
             "::regclass")[0]
      .as<std::int64_t>();
}

}  // namespace dobj::testing
