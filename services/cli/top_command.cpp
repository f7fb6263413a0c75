// dobj top: a live view of the cluster from the workers' /metrics (found in dobj.workers).
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <thread>

#include "commands.hpp"
#include "dobj/metrics/scrape.hpp"
#include "dobj/store/database.hpp"
#include "query.hpp"
#include "top_view.hpp"

namespace dobj::cli {
namespace {

constexpr std::chrono::milliseconds kScrapeTimeout{2000};

struct Target {
  std::string name;
  std::string address;
};

std::vector<Target> live_workers(pqxx::connection& db) {
  auto rows = query(db, "listing workers",
                    "SELECT id, metrics_addr FROM dobj_admin.workers "
                    "WHERE live AND metrics_addr IS NOT NULL ORDER BY id");
  std::vector<Target> out;
  for (const auto& r : rows) {
    out.push_back({fmt::format("worker {} ({})", r[0].c_str(), r[1].c_str()), r[1].c_str()});
  }
  return out;
}

std::vector<metrics::Sample> scrape(const Target& t) {
  auto r = metrics::http_get(t.address, "/metrics", kScrapeTimeout);
  return r.status == 200 ? metrics::parse_text(r.body) : std::vector<metrics::Sample>{};
}

void top(const ConnectionConfig& conn, double interval_s, bool once, bool json) {
  auto db = store::connect(conn.database_url);
  auto interval = std::chrono::duration<double>(interval_s);
  std::map<std::string, std::vector<metrics::Sample>> previous;
  auto targets = live_workers(*db);
  for (const auto& t : targets) previous[t.name] = scrape(t);
  while (true) {
    auto started = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(interval);
    std::vector<WorkerScrapes> scrapes;
    std::map<std::string, std::vector<metrics::Sample>> current;
    for (const auto& t : targets) {
      auto after = scrape(t);
      scrapes.push_back({t.name, previous[t.name], after});
      current[t.name] = std::move(after);
    }
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto view = compute_top(scrapes, elapsed);
    if (json) {
      fmt::print("{}\n", view.to_json().dump(2));
    } else {
      if (!once) fmt::print("\033[H\033[2J");  // redraw in place
      fmt::print("dobj top: {} live workers, {:.1f} s interval{}\n\n", targets.size(), elapsed,
                 once ? "" : " (Ctrl-C to quit)");
      view.print();
    }
    std::fflush(stdout);
    if (once) return;
    // Workers come and go: the next interval starts from this one's scrapes.
    targets = live_workers(*db);
    previous = std::move(current);
    for (const auto& t : targets) {
      if (!previous.count(t.name)) previous[t.name] = scrape(t);
    }
  }
}

}  // namespace

void add_top_command(CLI::App& app, const ConnectionConfig& conn) {
  struct TopArgs {
    double interval_s = 2;
    bool once = false, json = false;
  };
  auto args = std::make_shared<TopArgs>();
  auto* cmd = app.add_subcommand(
      "top", "live view of the workers and the busiest methods (from each worker's /metrics)");
  cmd->add_option("--interval-s", args->interval_s, "seconds between refreshes")
      ->check(CLI::Range(0.2, 60.0))
      ->capture_default_str();
  cmd->add_flag("--once", args->once, "one interval, printed once");
  cmd->add_flag("--json", args->json, "JSON output (with --once for scripts)");
  cmd->callback([args, &conn] { top(conn, args->interval_s, args->once, args->json); });
}

}  // namespace dobj::cli
