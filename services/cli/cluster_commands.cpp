// dobj workers | classes | handovers | drain: the cluster's shape and orderly removal of a worker.
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "commands.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/worker_registry.hpp"
#include "query.hpp"
#include "table.hpp"

namespace dobj::cli {
namespace {

constexpr std::chrono::milliseconds kDrainPoll{200};

void workers(const ConnectionConfig& conn, bool all, bool json) {
  auto db = store::connect(conn.database_url);
  auto rows = query(*db, "listing workers",
                    "SELECT id, host, pid, state, live, partitions, active_objects, heartbeat_at, "
                    "last_handover_at FROM dobj_admin.workers WHERE $1 OR live ORDER BY id",
                    all);
  if (json) {
    Value out = Value::array();
    for (const auto& r : rows) {
      out.push_back({{"id", r[0].as<std::int64_t>()},
                     {"host", r[1].c_str()},
                     {"pid", r[2].as<int>()},
                     {"state", r[3].c_str()},
                     {"live", r[4].as<bool>()},
                     {"partitions", r[5].as<std::int64_t>()},
                     // null: the worker's storage shard did not answer
                     {"objects", r[6].is_null() ? Value() : Value(r[6].as<std::int64_t>())},
                     {"heartbeat_at", r[7].c_str()},
                     {"last_handover_at", r[8].is_null() ? Value() : Value(r[8].c_str())}});
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({text(r[0]), text(r[1]), text(r[2]),
                     r[4].as<bool>() ? text(r[3]) : text(r[3]) + " (lease gone)", text(r[5]),
                     text(r[6]), text(r[7])});
  }
  print_table({"ID", "HOST", "PID", "STATE", "PARTITIONS", "OBJECTS", "HEARTBEAT"}, table);
}

std::string joined(const Value& list, const char* separator) {
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += separator;
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

void classes(const ConnectionConfig& conn, bool json) {
  auto db = store::connect(conn.database_url);
  auto rows = query(*db, "listing classes",
                    "SELECT class, to_jsonb(methods), same_methods, to_jsonb(workers), "
                    "to_jsonb(versions) FROM dobj_admin.classes ORDER BY class");
  Value out = Value::array();
  for (const auto& r : rows) {
    out.push_back({{"class", r[0].c_str()},
                   {"methods", Value::parse(r[1].c_str())},
                   {"same_methods", r[2].as<bool>()},
                   {"workers", Value::parse(r[3].c_str())},
                   {"versions", Value::parse(r[4].c_str())}});
  }
  if (json) {
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& c : out) {
    auto methods = joined(c["methods"], " ");
    if (!c["same_methods"].get<bool>()) methods += "  (workers differ)";
    table.push_back({c["class"], methods, joined(c["workers"], ","), joined(c["versions"], ",")});
  }
  print_table({"CLASS", "METHODS", "WORKERS", "VERSION"}, table);
}

void handovers(const ConnectionConfig& conn, int limit, bool json) {
  auto db = store::connect(conn.database_url);
  // Grouped by moment, worker and event: one line per handover, not per partition.
  auto rows = query(*db, "listing handovers",
                    "SELECT date_trunc('second', at) AS t, worker, event, previous_owner, "
                    "count(*), min(partition), max(partition) FROM dobj_admin.handovers "
                    "GROUP BY 1, 2, 3, 4 ORDER BY 1 DESC, 2 LIMIT $1",
                    limit);
  if (json) {
    Value out = Value::array();
    for (const auto& r : rows) {
      out.push_back({{"at", r[0].c_str()},
                     {"worker", r[1].as<std::int64_t>()},
                     {"event", r[2].c_str()},
                     {"previous_owner", r[3].is_null() ? Value() : Value(r[3].as<std::int64_t>())},
                     {"partitions", r[4].as<std::int64_t>()}});
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({text(r[0]), text(r[1]), text(r[2]), text(r[3]), text(r[4]),
                     text(r[5]) + ".." + text(r[6])});
  }
  print_table({"AT", "WORKER", "EVENT", "FROM", "PARTITIONS", "RANGE"}, table);
}

// Asks the worker to hand everything back and waits, with progress, until it has stopped.
void drain(const ConnectionConfig& conn, store::WorkerId id, int timeout_s, bool wait) {
  auto db = store::connect(conn.database_url);
  if (!store::WorkerRegistry(*db).request_drain(id)) {
    throw Error(ErrorCode::kBadRequest,
                fmt::format("worker {} is not a live serving worker (see `dobj workers`)", id));
  }
  fmt::print("worker {}: drain requested\n", id);
  if (!wait) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string last;
  while (true) {
    auto rows = query(
        *db, "watching the drain",
        "SELECT state, live, partitions, active_objects FROM dobj_admin.workers WHERE id = $1", id);
    // A row gone (pruned long after it stopped) means stopped too.
    if (rows.empty() || rows[0][0].as<std::string>() == "stopped" || !rows[0][1].as<bool>()) {
      fmt::print("worker {}: drained and stopped\n", id);
      return;
    }
    const auto& r = rows[0];
    auto line = fmt::format("worker {}: {} partitions, {} objects left", id, r[2].c_str(),
                            r[3].is_null() ? "?" : r[3].c_str());
    if (line != last) fmt::print("{}\n", line);
    std::fflush(stdout);
    last = line;
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ErrorCode::kTimeout,
                  fmt::format("worker {} is still draining after {} s", id, timeout_s));
    }
    std::this_thread::sleep_for(kDrainPoll);
  }
}

}  // namespace

void add_cluster_commands(CLI::App& app, const ConnectionConfig& conn) {
  struct WorkersArgs {
    bool all = false, json = false;
  };
  auto wa = std::make_shared<WorkersArgs>();
  auto* wc = app.add_subcommand("workers", "list live workers with their partitions and objects");
  wc->add_flag("--all", wa->all, "stopped and expired workers too");
  wc->add_flag("--json", wa->json, "JSON output");
  wc->callback([wa, &conn] { workers(conn, wa->all, wa->json); });

  auto classes_json = std::make_shared<bool>(false);
  auto* cc = app.add_subcommand("classes", "classes live workers host, with their methods");
  cc->add_flag("--json", *classes_json, "JSON output");
  cc->callback([classes_json, &conn] { classes(conn, *classes_json); });

  struct HandoverArgs {
    int limit = 20;
    bool json = false;
  };
  auto ha = std::make_shared<HandoverArgs>();
  auto* hc = app.add_subcommand("handovers", "recent partition handovers, newest first");
  hc->add_option("--limit", ha->limit)->check(CLI::Range(1, 100000))->capture_default_str();
  hc->add_flag("--json", ha->json, "JSON output");
  hc->callback([ha, &conn] { handovers(conn, ha->limit, ha->json); });

  struct DrainArgs {
    store::WorkerId id = 0;
    int timeout_s = 60;
    bool no_wait = false;
  };
  auto da = std::make_shared<DrainArgs>();
  auto* dc = app.add_subcommand(
      "drain", "hand a worker's partitions to the others, then stop it (exits 0 when done)");
  dc->add_option("worker", da->id, "worker id (see `dobj workers`)")->required();
  dc->add_option("--timeout-s", da->timeout_s, "give up waiting after this long")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  dc->add_flag("--no-wait", da->no_wait, "request the drain and return");
  dc->callback([da, &conn] { drain(conn, da->id, da->timeout_s, !da->no_wait); });
}

}  // namespace dobj::cli
