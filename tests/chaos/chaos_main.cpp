// dobj-chaos: workers (two per storage shard) and two timers on a 3-node NATS cluster
// (--nats-nodes), a control PostgreSQL and two storage shards, each a PostgreSQL server of its
// own (--pg-shards; 0: three workers on one database); clients add to Ledger objects with
// idempotency keys and arm alarms, un-keyed clients increment Counters, and bank clients transfer
// between Accounts (durable messages, with and without keys), while a fault injector kills, pauses,
// drains and adds workers, restarts PostgreSQL and every NATS node, kills one NATS node at a time,
// restarts one storage shard's server, cuts one worker from PostgreSQL or from NATS only, and slows
// PostgreSQL down. Then it checks that nothing acknowledged was lost or applied twice, that no
// refused request was applied, that ownership never overlapped, that no object is stranded, that
// every alarm fired, and that the bank's total is exact with every transfer applied once at both
// ends.
//   dobj-chaos --mode short     ≈ 2 minutes, one of each fault (the test command runs it)
//   dobj-chaos --mode long      10 minutes of faults (on demand)
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <fstream>

#include "chaos_checks.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/core/value.hpp"
#include "dobj/testing/cluster.hpp"
#include "dobj/testing/ledger_load.hpp"
#include "dobj/testing/process.hpp"
#include "fault_injector.hpp"
#include "reply_auditor.hpp"

namespace {

using namespace std::chrono_literals;
using namespace dobj;

constexpr auto kWarmUpAcks = 50;
constexpr auto kRoutesDeadline = 20s;
constexpr auto kWarmUpDeadline = 60s;
constexpr auto kCalmAfterFaults = 3s;
constexpr auto kAlarmDeadline = 90s;
constexpr auto kAnswerDeadline = 15s;
constexpr int kPlainClients = 2;
constexpr int kBankClients = 2;
constexpr auto kDepositDeadline = 60s;
constexpr auto kOutboxDrainDeadline = 60s;
// A failed run prints this many of the services' last log lines that matter to a post-mortem:
// the CI log is all that is left of a run on a clean machine.
constexpr std::size_t kShownLogLines = 400;
constexpr std::size_t kLogTimeChars = 23;  // 2026-12-02T04:23:54.597

struct Settings {
  std::string mode = "short";
  int seconds = 0;  // 0: the mode's
  int clients = 0;
  int objects = 0;
  int accounts = 0;
  int nats_nodes = 3;
  int pg_shards = 2;
  std::uint32_t seed = 0;
  std::string json_path;
};

void print_faults(const std::vector<chaos::FaultInjector::Record>& records) {
  fmt::print("\n{:>7}  {:<36} {:>6}  {:<4} {}\n", "AT (s)", "FAULT", "TOOK", "OK", "DETAIL");
  for (const auto& r : records) {
    fmt::print("{:>7.1f}  {:<36} {:>5.1f}s  {:<4} {}\n", r.at_s, chaos::to_string(r.fault),
               r.took_s, r.ok ? "yes" : "NO", r.detail);
  }
}

// The services' warnings, errors and lease and handover lines in time order, the last
// kShownLogLines of them (the run says where the fault log's clock starts on theirs).
void print_service_log(const std::string& logs) {
  std::vector<std::string_view> kept;
  std::string_view rest = logs;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    auto line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    for (const char* mark : {" W [", " E [", " C [", "[lease]", "[handover]"}) {
      if (line.find(mark) != std::string_view::npos) {
        kept.push_back(line);
        break;
      }
    }
  }
  // One timeline across the services: each line starts with its ISO time.
  std::stable_sort(kept.begin(), kept.end(), [](std::string_view a, std::string_view b) {
    return a.substr(0, kLogTimeChars) < b.substr(0, kLogTimeChars);
  });
  auto from = kept.size() > kShownLogLines ? kept.size() - kShownLogLines : 0;
  fmt::print("\nthe services' last {} warning, error, lease and handover lines (of {}):\n",
             kept.size() - from, kept.size());
  for (auto i = from; i < kept.size(); ++i) fmt::print("{}\n", kept[i]);
}

void print_checks(const std::vector<chaos::CheckRow>& rows) {
  fmt::print("\n{:<46} {:<6} {}\n", "CHECK", "RESULT", "DETAIL");
  for (const auto& r : rows) {
    fmt::print("{:<46} {:<6} {}\n", r.name, r.passed ? "PASS" : "FAIL", r.detail);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"dobj-chaos: fault injection with exactly-once checks"};
  app.add_option("--mode", s.mode, "short (one fault of each kind) or long (10 min of faults)")
      ->check(CLI::IsMember({"short", "long"}))
      ->capture_default_str();
  app.add_option("--seconds", s.seconds, "how long faults are injected (overrides the mode)")
      ->check(CLI::Range(5, 86400));
  app.add_option("--clients", s.clients, "client threads")->check(CLI::Range(1, 64));
  app.add_option("--objects", s.objects, "Ledger objects they share")->check(CLI::Range(1, 10000));
  app.add_option("--accounts", s.accounts, "bank accounts")->check(CLI::Range(2, 100000));
  app.add_option("--nats-nodes", s.nats_nodes, "NATS nodes (a cluster from 2)")
      ->check(CLI::Range(1, dobj::testing::NatsServer::kMaxNodes))
      ->capture_default_str();
  app.add_option("--pg-shards", s.pg_shards,
                 "storage shards, each a PostgreSQL server of its own (0: objects in the control "
                 "database)")
      ->check(CLI::Range(0, 4))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "fault order (0: from the clock)");
  app.add_option("--json", s.json_path, "also write the results here");
  CLI11_PARSE(app, argc, argv);
  bool long_mode = s.mode == "long";
  // Short: one fault of each kind (about 65 s with every kind here); the time is a cap.
  if (s.seconds == 0) s.seconds = long_mode ? 600 : 120;
  if (s.clients == 0) s.clients = long_mode ? 8 : 4;
  if (s.objects == 0) s.objects = long_mode ? 64 : 24;
  if (s.accounts == 0) s.accounts = long_mode ? 200 : 24;
  if (s.seed == 0) s.seed = static_cast<std::uint32_t>(std::time(nullptr));
  set_log_level("warn");

  auto faults_text = long_mode ? fmt::format("{} s of faults", s.seconds)
                               : fmt::format("one fault of each kind (at most {} s)", s.seconds);
  fmt::print(
      "dobj-chaos: {}, {} clients on {} objects, {} NATS node(s), {} storage shard(s), seed {}\n",
      faults_text, s.clients, s.objects, s.nats_nodes, s.pg_shards, s.seed);
  // Short database deadlines, so that a cut-off worker's shards stay free to answer (or not).
  // With storage shards, two workers each to begin with, so that one can fail over to the other.
  testing::Cluster cluster({.workers = s.pg_shards > 0 ? 2 * s.pg_shards : 3,
                            .timers = 2,
                            .worker_args = {"--audit-commits", "--pg-statement-timeout-ms", "1500",
                                            "--pg-call-timeout-ms", "3000"},
                            .nats_nodes = s.nats_nodes,
                            .storage_shards = s.pg_shards});
  if (!cluster.stack().nats().wait_routes(kRoutesDeadline)) {
    fmt::print("FAIL: the NATS nodes did not form a cluster\n");
    return 1;
  }
  testing::LedgerLoad load({cluster.stack().nats().client_url(), s.clients, s.objects,
                            std::chrono::milliseconds(1000), std::chrono::milliseconds(30'000),
                            true});
  // Un-keyed clients next to the keyed ones: every outcome classified by what its reply promised.
  testing::CounterLoad plain({cluster.stack().nats().client_url(), kPlainClients, s.objects});
  testing::BankLoad bank({cluster.stack().nats().client_url(), kBankClients, s.accounts});
  chaos::ReplyAuditor auditor(cluster.stack().nats().client_url());
  if (!bank.deposit_all(kDepositDeadline)) {
    fmt::print("FAIL: the bank's opening deposits did not go through before any fault\n");
    return 1;
  }
  load.start();
  plain.start();
  bank.start();
  if (!testing::wait_until([&] { return load.acked() >= kWarmUpAcks; }, kWarmUpDeadline)) {
    fmt::print("FAIL: the cluster did not serve {} requests before any fault\n", kWarmUpAcks);
    return 1;
  }
  chaos::FaultInjector::Options fo;
  fo.duration = std::chrono::seconds(s.seconds);
  fo.seed = s.seed;
  fo.nats_nodes = s.nats_nodes;
  fo.storage_shards = s.pg_shards;
  fo.each_kind_once = !long_mode;
  if (s.pg_shards > 0) {
    fo.min_workers = static_cast<std::size_t>(2 * s.pg_shards);
    fo.max_workers = static_cast<std::size_t>(3 * s.pg_shards);
  }
  chaos::FaultInjector injector(cluster, fo);
  auto faults_began = plain.seconds_running();
  auto faults_began_at = std::chrono::system_clock::now();
  injector.start();
  injector.join();
  std::this_thread::sleep_for(kCalmAfterFaults);
  load.stop();
  plain.stop();
  bank.stop();
  auto faults = injector.records();
  print_faults(faults);
  // The services log local time (spdlog's default).
  auto began_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(faults_began_at.time_since_epoch())
          .count() %
      1000;
  fmt::print(
      "(the clients' times below count from {:.1f} s before the first fault, which came at "
      "{:%H:%M:%S}.{:03} on the services' log clock)\n",
      faults_began, fmt::localtime(std::chrono::system_clock::to_time_t(faults_began_at)),
      began_ms);

  std::string retries;
  for (const auto& [code, n] : load.results().retries) retries += fmt::format(" {} {},", code, n);
  fmt::print("\nclient retries by cause:{}\n", retries.empty() ? " none" : retries);
  std::vector<chaos::CheckRow> rows;
  // A check that cannot even look (its database query failed) fails, with why.
  auto add_checks = [&](const char* what, auto&& run) {
    try {
      for (auto& row : run()) rows.push_back(std::move(row));
    } catch (const std::exception& e) {
      rows.push_back({what, false, e.what()});
    }
  };
  add_checks("the Ledger checks ran", [&] {
    return chaos::run_checks(cluster.stack().database_url(), load.results(), kAlarmDeadline);
  });
  add_checks("the reply audit ran", [&] { return std::vector<chaos::CheckRow>{auditor.check()}; });
  add_checks("the un-keyed checks ran",
             [&] { return chaos::check_unkeyed(cluster.stack().database_url(), plain); });
  add_checks("the bank checks ran", [&] {
    return chaos::check_bank(cluster.stack().database_url(), bank, kOutboxDrainDeadline);
  });
  std::vector<std::string> counters;
  for (const auto& [id, tally] : plain.results().objects) counters.push_back(id);
  add_checks("every object answers", [&] {
    return std::vector<chaos::CheckRow>{
        chaos::check_all_answer(cluster.stack().nats().client_url(), counters, kAnswerDeadline)};
  });
  std::size_t failed_faults = 0;
  for (const auto& f : faults) failed_faults += !f.ok;
  rows.insert(rows.begin(), {"every fault was injected and recovered from",
                             failed_faults == 0 && faults.size() >= 9,
                             fmt::format("{} faults, {} failed", faults.size(), failed_faults)});
  print_checks(rows);
  bool passed = std::all_of(rows.begin(), rows.end(), [](const auto& r) { return r.passed; });
  if (!passed) print_service_log(cluster.stack().worker_logs());
  fmt::print("\n{}\n", passed ? "chaos: PASS" : "chaos: FAIL");

  if (!s.json_path.empty()) {
    Value out = {{"seed", s.seed}, {"seconds", s.seconds}, {"passed", passed}};
    for (const auto& f : faults) {
      out["faults"].push_back(
          {{"fault", chaos::to_string(f.fault)}, {"at_s", f.at_s}, {"ok", f.ok}});
    }
    for (const auto& r : rows) {
      out["checks"].push_back({{"check", r.name}, {"passed", r.passed}, {"detail", r.detail}});
    }
    std::ofstream(s.json_path) << out.dump(2) << "\n";
  }
  return passed ? 0 : 1;
}
