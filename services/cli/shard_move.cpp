// dobj shards move FIRST-LAST SHARD: moves the objects of a partition range to a storage shard
// (store/partition_move.hpp has the steps and why each is safe). Schemas travel as pg_dump's SQL.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "commands.hpp"
#include "dobj/core/error.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/partition_move.hpp"
#include "dobj/store/storage_shards.hpp"
#include "shard_args.hpp"

namespace dobj::cli {
namespace {

constexpr std::size_t kSchemasPerDump = 100;
constexpr std::chrono::milliseconds kUnservedPoll{250};

// pg_dump and psql of the server's major version when installed there, else from PATH.
std::string pg_tool(const std::string& name) {
  const char* dir = std::getenv("DOBJ_PG_BINDIR");
  std::string in_dir = std::string(dir && *dir ? dir : "/usr/lib/postgresql/15/bin") + "/" + name;
  return std::filesystem::exists(in_dir) ? in_dir : name;
}

// Runs a program (no shell: URLs pass as they are); throws with its output on failure.
void run(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid < 0) throw Error(ErrorCode::kStorageError, "cannot start " + argv[0]);
  if (pid == 0) {
    FILE* out = std::fopen(log.c_str(), "w");
    if (out) {
      dup2(fileno(out), STDOUT_FILENO);
      dup2(fileno(out), STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string output;
    if (FILE* f = std::fopen(log.c_str(), "r")) {
      char buf[4096];
      std::size_t n = 0;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) output.append(buf, n);
      std::fclose(f);
    }
    throw Error(ErrorCode::kStorageError, argv[0] + " failed: " + output);
  }
}

// The schemas in batches: dumped from the source, restored into the target in one transaction
// each (a batch that fails leaves nothing; the move is run again).
void copy_schemas(const std::vector<std::string>& schemas, const std::string& from,
                  const std::string& to) {
  // The dump holds the objects' data: a directory only this user can read, gone afterwards.
  auto dir = std::filesystem::temp_directory_path() / fmt::format("dobj-move-{}", getpid());
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  struct Remove {
    std::filesystem::path dir;
    ~Remove() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove{dir};
  auto file = (dir / "schemas.sql").string();
  auto log = (dir / "tool.log").string();
  for (std::size_t i = 0; i < schemas.size(); i += kSchemasPerDump) {
    std::vector<std::string> dump{pg_tool("pg_dump"), "--dbname=" + from, "--format=plain",
                                  "--file=" + file};
    auto end = std::min(schemas.size(), i + kSchemasPerDump);
    for (auto j = i; j < end; ++j) dump.push_back("--schema=" + schemas[j]);
    run(dump, log);
    run({pg_tool("psql"), "--dbname=" + to, "--single-transaction", "--quiet", "--no-psqlrc", "-v",
         "ON_ERROR_STOP=1", "--file=" + file},
        log);
    fmt::print("  schemas copied: {} of {}\n", end, schemas.size());
    std::fflush(stdout);
  }
}

struct MoveArgs {
  std::string range, target;
  int timeout_s = 60;
  std::vector<std::string> admin_urls;
  std::size_t rows_per_batch = store::kMoveRowsPerBatch;
};

void move(const ConnectionConfig& conn, const MoveArgs& args) {
  auto [first, last] = parse_partition_range(args.range);
  auto overrides = parse_shard_urls(args.admin_urls);
  const auto& target = args.target;
  auto timeout_s = args.timeout_s;
  auto control = store::connect(conn.database_url);
  auto started = std::chrono::steady_clock::now();
  auto plan = store::begin_move(*control, first, last, target);
  auto url_of = [&](const std::string& name, const std::string& map_url) {
    if (name == "control") return conn.database_url;
    auto it = overrides.find(name);
    return it == overrides.end() ? map_url : it->second;
  };
  auto source_url = url_of(plan.source, plan.source_url);
  auto target_url = url_of(plan.target, plan.target_url);
  auto source = store::connect(source_url);
  auto target_db = store::connect(target_url);
  fmt::print("partitions {}-{}: from {} to {} ({})\n", first, last, plan.source, plan.target,
             plan.state == "copying" ? "not served until copied" : "copied; cleaning up");
  std::fflush(stdout);
  if (plan.state == "copying") {
    // Their workers hand them back within a heartbeat or two; a dead one's lease runs out.
    auto deadline = started + std::chrono::seconds(timeout_s);
    while (!store::range_unserved(*control, *source, plan)) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw Error(ErrorCode::kTimeout,
                    fmt::format("partitions {}-{} are still served after {} s; run the same "
                                "command again to go on",
                                first, last, timeout_s));
      }
      std::this_thread::sleep_for(kUnservedPoll);
    }
    store::fence_source(*source, plan);
    auto schemas = store::copy_rows(*source, *target_db, plan, args.rows_per_batch);
    fmt::print("  objects copied: {} (with their alarms, replies and outbox)\n", schemas.size());
    copy_schemas(schemas, source_url, target_url);
    store::switch_move(*control, plan);
    fmt::print("  served by {} from now on\n", plan.target);
  }
  auto gone = store::clean_source(*source, plan);
  store::finish_move(*control, plan);
  fmt::print("moved partitions {}-{} to {} in {:.1f} s ({} objects deleted from {})\n", first, last,
             plan.target,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
             gone, plan.source);
}

}  // namespace

void add_shard_move_command(CLI::App& shards, const ConnectionConfig& conn) {
  auto ma = std::make_shared<MoveArgs>();
  auto* mc = shards.add_subcommand(
      "move", "move the objects of a partition range to a storage shard (resumable)");
  mc->add_option("range", ma->range, "FIRST-LAST, e.g. 0-63")->required();
  mc->add_option("shard", ma->target, "the storage shard that takes them")->required();
  mc->add_option("--timeout-s", ma->timeout_s, "wait this long for their workers to let go")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  mc->add_option("--shard-admin-url", ma->admin_urls,
                 "NAME=URL: reach shard NAME with this URL (one that may create and own the "
                 "objects' schemas) instead of its map URL");
  mc->add_option("--rows-per-batch", ma->rows_per_batch,
                 "rows of a table copied per statement (all in one transaction)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  mc->callback([ma, &conn] { move(conn, *ma); });
}

}  // namespace dobj::cli
