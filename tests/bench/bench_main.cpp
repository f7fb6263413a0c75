// dobj-bench: starts its own nats-server, PostgreSQL (fsync on), dobj-worker and the two
// baselines, runs every scenario, and prints a markdown table (and JSON) with ratios against the
// baselines measured in the same run. Bounded: `--mode short` ≈ 1 min, `--mode full` a few.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/value.hpp"
#include "dobj/metrics/histogram.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/schema_pool.hpp"
#include "dobj/testing/http_get.hpp"
#include "dobj/testing/test_stack.hpp"
#include "load_generator.hpp"

namespace dobj::bench {
namespace {

using namespace std::chrono_literals;
using testing::Process;

struct Mode {
  std::chrono::milliseconds duration;
  std::uint64_t activation_objects;
  int subscribers;
  int spread_objects;
  std::uint64_t spread_alarms;  // due at 1,000/s
  std::uint64_t burst_alarms;   // due at one instant
  int accounts;                 // the bank scenario's Accounts
};

constexpr int kShards = 2;  // the worker's shards = the naive baseline's pool size
constexpr std::uint64_t kNewObjectBurst = 10'000;
constexpr const char* kReplySeconds = "dobj_reply_seconds";

struct Row {
  LoadResult load;
  double commits_per_request = -1;
  double worker_cpu_per_100k = -1;  // the worker's CPU seconds per 100,000 requests
  double pg_cpu_per_100k = -1;      // PostgreSQL's (every backend's), likewise
  double nats_cpu_per_100k = -1;    // nats-server's, likewise
  // dobj_reply_seconds: the worker's share of a request's latency (from taking it to its reply
  // leaving); the rest is NATS, the network and the client.
  double worker_p50_ms = -1;
  double worker_p99_ms = -1;
  double setup_rate = 0;      // alarms: how fast they were set
  bool setup_in_time = true;  // alarms: all set before the first fell due
  std::string note;
};

// Alarms are set this fast at most when planning when they fall due (the lead time must cover
// the setting, or the lateness measures the setting too).
constexpr double kPlannedSetRate = 1500;
// A burst plans with this share of the rate the spread alarms were set at: more objects, more
// activations (the full run's 100,000 were set at 912/s, past a lead planned at 1,500/s).
constexpr double kBurstSetRateShare = 0.5;

class Bench {
 public:
  Bench(Mode mode, std::string bin_dir, std::string only)
      : mode_(mode), bin_dir_(std::move(bin_dir)), only_(std::move(only)) {}

  void run() {
    setenv("DOBJ_TEST_PG_FSYNC", "on", 1);
    // Without users: the baselines (echo, naive) answer on subjects of their own.
    stack_ = std::make_unique<testing::TestStack>(testing::NatsServer::Profile::kOpen);
    std::vector<std::string> args{"--shards", std::to_string(kShards), "--schema-pool",
                                  std::to_string(pool_objects())};
    args.insert(args.end(), worker_args.begin(), worker_args.end());
    worker_ = &stack_->start_worker(args);
    auto url = stack_->nats().service_url();
    auto dir = stack_->temp_dir();
    echo_ =
        std::make_unique<Process>(std::vector<std::string>{bin_dir_ + "/bench-echo", "--nats", url},
                                  std::map<std::string, std::string>{}, dir + "/echo.log");
    naive_ = std::make_unique<Process>(
        std::vector<std::string>{bin_dir_ + "/bench-naive", url, stack_->database_url(),
                                 std::to_string(kShards)},
        std::map<std::string, std::string>{}, dir + "/naive.log");
    for (auto* p : {echo_.get(), naive_.get()}) {
      if (!testing::wait_until(
              [&] {
                return testing::read_file(p->log_path()).find("serving") != std::string::npos;
              },
              20s)) {
        throw std::runtime_error("baseline did not start: " + testing::read_file(p->log_path()));
      }
    }
    rss_idle_mb_ = rss_mb();
    // The worker fills its pool of ready schemas before anything is measured.
    wait_for_ready_schemas();

    if (only_ == "first_writes") {
      auto [naive_new, created, sustained] = first_writes();
      print_report({naive_new, created, sustained}, {});
      return;
    }
    if (only_ == "get") {
      auto echo = load("ceiling: NATS echo, 64 clients", 64, [](auto) { return "echo.x"; });
      auto reads = hot_get();
      print_report({echo, reads}, {});
      return;
    }
    if (only_ == "spread") {
      auto [naive_spread, dobj_spread] = spread_increments();
      print_report({naive_spread, dobj_spread}, {});
      return;
    }
    if (only_ == "one") {  // one client at a time: latency, awaited calls
      auto echo1 = load("ceiling: NATS echo, 1 client", 1, [](auto) { return "echo.x"; });
      auto naive1 = naive_inc(1);
      auto hot1 = hot_inc(1);
      auto [direct_get, awaited, awaited16] = awaited_calls(hot1);
      print_report({echo1, naive1, hot1, direct_get, awaited, awaited16}, {});
      return;
    }
    if (only_ == "activation") {  // new objects, then read back by a fresh worker
      auto [naive_new, created, sustained] = first_writes();
      auto activated = activation();
      print_report({naive_new, created, sustained, activated}, {});
      return;
    }
    if (only_ == "alarms") {
      auto [spread_alarms, burst_alarms] = alarm_rows();
      print_report({spread_alarms, burst_alarms}, {});
      return;
    }
    if (only_ == "cost") {  // CPU per request of the worker and of PostgreSQL (docs/scaling.md)
      auto naive64 = naive_inc(64);
      auto hot64 = hot_inc(64);
      auto [naive_spread, dobj_spread] = spread_increments();
      auto reads = hot_get();
      print_report({naive64, hot64, naive_spread, dobj_spread, reads}, {});
      return;
    }
    if (only_ == "paced") {  // the tail at half of the peak the same run measured
      auto hot64 = hot_inc(64);
      auto [echo_paced, paced] = paced_at_half(hot64);
      print_report({hot64, echo_paced, paced}, {});
      return;
    }
    auto echo1 = load("ceiling: NATS echo, 1 client", 1, [](auto) { return "echo.x"; });
    auto echo64 = load("ceiling: NATS echo, 64 clients", 64, [](auto) { return "echo.x"; });
    auto naive1 = naive_inc(1);
    auto hot1 = hot_inc(1);
    auto naive64 = naive_inc(64);
    auto hot64 = hot_inc(64);
    auto [naive_spread, dobj_spread] = spread_increments();
    auto reads = hot_get();
    auto [echo_paced, paced] = paced_at_half(hot64);
    auto chat = chat_fanout();
    auto [transfers, credits] = bank(dobj_spread);
    auto [direct_get, awaited, awaited16] = awaited_calls(hot1);
    auto [naive_new, created, sustained] = first_writes();
    auto activated = activation();
    auto [spread_alarms, burst_alarms] = alarm_rows();

    print_report(
        {echo1,        echo64,      naive1,     hot1,          naive64,     hot64,
         naive_spread, dobj_spread, reads,      echo_paced,    paced,       chat,
         transfers,    credits,     direct_get, awaited,       awaited16,   naive_new,
         created,      sustained,   activated,  spread_alarms, burst_alarms},
        {{"one client: hot inc p50 ≤ 1.3× naive's", hot1.load.p50_ms <= 1.3 * naive1.load.p50_ms,
          fmt::format("{:.2f}×", hot1.load.p50_ms / naive1.load.p50_ms)},
         {"one client: hot get p50 ≤ 2× echo's", direct_get.load.p50_ms <= 2 * echo1.load.p50_ms,
          fmt::format("{:.2f}×", direct_get.load.p50_ms / echo1.load.p50_ms)},
         {"hot inc ≥ 10× naive (64 clients)", hot64.load.throughput >= 10 * naive64.load.throughput,
          fmt::format("{:.1f}×", hot64.load.throughput / naive64.load.throughput)},
         {"hot get ≥ 0.8× echo (64 clients)", reads.load.throughput >= 0.8 * echo64.load.throughput,
          fmt::format("{:.2f}×", reads.load.throughput / echo64.load.throughput)},
         {"spread inc ≥ 2× naive", dobj_spread.load.throughput >= 2 * naive_spread.load.throughput,
          fmt::format("{:.2f}×", dobj_spread.load.throughput / naive_spread.load.throughput)},
         {"first writes of new objects ≥ 0.5× naive's of new ids",
          created.load.throughput >= 0.5 * naive_new.load.throughput,
          fmt::format("{:.2f}×", created.load.throughput / naive_new.load.throughput)},
         {"sustained first writes beyond the pool ≥ 1,000/s", sustained.load.throughput >= 1000,
          fmt::format("{:.0f}/s", sustained.load.throughput)},
         {"every transfer's credit delivered (outbox drained)", credits.load.errors == 0,
          credits.note},
         {"p99 ≤ 10 ms at half of peak", paced.load.p99_ms <= 10,
          fmt::format("{:.2f} ms", paced.load.p99_ms)},
         {fmt::format("{} activated objects with state ≤ 300 MB worker RSS "
                      "(scaled to 100,000: {:.0f} MB)",
                      mode_.activation_objects, scaled_rss_),
          scaled_rss_ <= 300, fmt::format("{:.0f} MB", activation_rss_mb_)},
         {"alarm lateness p99 ≤ 50 ms at 1,000 alarms/s",
          spread_alarms.setup_in_time && spread_alarms.load.p99_ms <= 50,
          fmt::format("{:.1f} ms", spread_alarms.load.p99_ms)},
         {fmt::format("{} alarms due at one instant all fired within 10 s", mode_.burst_alarms),
          burst_alarms.setup_in_time && burst_alarms.load.max_ms <= 10000,
          fmt::format("{:.1f} s{}", burst_alarms.load.max_ms / 1000,
                      burst_alarms.setup_in_time ? "" : " (setting outran the plan)")}});
    echo_->signal(SIGTERM);
    naive_->signal(SIGTERM);
  }

  // Whether every scenario completed requests with no errors and no timeouts (what the smoke
  // test checks; the targets are for people to read, not for a test to time).
  bool healthy() const { return healthy_; }

  std::string json_out;
  std::string markdown_out;
  std::vector<std::string> worker_args;  // the measured worker's extra flags (tuning)

 private:
  template <typename SubjectFn>
  Row load(const std::string& name, int slots, SubjectFn subject, bool count_commits = false,
           double rate = 0, std::uint64_t max_requests = 0, std::string body = "") {
    LoadSpec spec;
    spec.name = name;
    spec.nats_url = stack_->nats().client_url();
    spec.slots = slots;
    spec.rate = rate;
    spec.duration = mode_.duration;
    spec.max_requests = max_requests;
    spec.body = std::move(body);
    spec.subject = [subject](std::uint64_t i) { return std::string(subject(i)); };
    auto before = count_commits ? commits() : 0;
    bool dobj_row = name.starts_with("dobj:");
    auto cpu_before = dobj_row ? worker_cpu_seconds() : 0;
    auto pg_cpu_before = testing::PostgresServer::shared().cpu_seconds();
    auto nats_cpu_before = stack_->nats().cpu_seconds();
    auto replies_before =
        dobj_row ? histogram_buckets(*worker_, kReplySeconds) : metrics::Buckets();
    Row row;
    row.load = run_load(spec);
    if (dobj_row) {
      auto replies = histogram_buckets(*worker_, kReplySeconds);
      metrics::subtract(replies, replies_before);
      row.worker_p50_ms = to_ms(metrics::quantile(replies, 0.5));
      row.worker_p99_ms = to_ms(metrics::quantile(replies, 0.99));
    }
    if (row.load.completed > 0) {
      // Both include the warmup's requests' CPU too: upper bounds.
      auto per_100k = 100000 / static_cast<double>(row.load.completed);
      if (dobj_row) row.worker_cpu_per_100k = (worker_cpu_seconds() - cpu_before) * per_100k;
      row.pg_cpu_per_100k =
          (testing::PostgresServer::shared().cpu_seconds() - pg_cpu_before) * per_100k;
      row.nats_cpu_per_100k = (stack_->nats().cpu_seconds() - nats_cpu_before) * per_100k;
    }
    if (count_commits && row.load.completed > 0) {
      // Includes the warmup's commits: an upper bound per measured request.
      row.commits_per_request =
          static_cast<double>(commits() - before) / static_cast<double>(row.load.completed);
    }
    fmt::print(stderr, "  {:<58} {:>9.0f}/s  p99 {:.2f} ms\n", name, row.load.throughput,
               row.load.p99_ms);
    return row;
  }

  Row chat_fanout() {
    std::atomic<std::uint64_t> delivered{0};
    std::vector<std::unique_ptr<NatsConnection>> subscribers;
    std::vector<NatsSubscription> subs;
    for (int i = 0; i < mode_.subscribers; ++i) {
      subscribers.push_back(std::make_unique<NatsConnection>(
          NatsConnection::Options{stack_->nats().client_url(), "bench-subscriber"}));
      subs.push_back(subscribers.back()->subscribe("evt.ChatRoom.fan.message", [&](natsMsg* m) {
        natsMsg_Destroy(m);
        ++delivered;
      }));
      subscribers.back()->flush(5s);
    }
    auto row = load(
        fmt::format("dobj: ChatRoom post, {} event subscribers, 16 clients", mode_.subscribers), 16,
        [](auto) { return "obj.ChatRoom.fan.post"; }, true, 0, 0,
        R"({"user": "bench", "text": "hello, room"})");
    auto expected_min = row.load.completed * static_cast<std::uint64_t>(mode_.subscribers);
    testing::wait_until([&] { return delivered >= expected_min; }, 10s);
    row.note = fmt::format("{} events delivered", delivered.load());
    if (delivered < expected_min) {
      healthy_ = false;
      fmt::print(stderr, "only {} of {} events delivered\n", delivered.load(), expected_min);
    }
    return row;
  }

  // Account transfers between mode_.accounts accounts (a debit and a durable credit message
  // each), then the time until the outbox has delivered every credit. `spread`: the spread
  // increments of the same run, the cost of one plain durable write per request.
  std::pair<Row, Row> bank(const Row& spread) {
    auto n = static_cast<std::uint64_t>(mode_.accounts);
    auto account = [](std::uint64_t i) { return fmt::format("bank{}", i); };
    load(
        fmt::format("setup: deposit into {} accounts", n), 64,
        [&](std::uint64_t i) { return "obj.Account." + account(i) + ".deposit"; }, false, 0, n,
        R"({"amount": 1000000000})");
    LoadSpec spec;
    spec.name = fmt::format("dobj: Account transfers between {} accounts, 64 clients", n);
    spec.nats_url = stack_->nats().client_url();
    spec.slots = 64;
    spec.duration = mode_.duration;
    auto from = [n](std::uint64_t i) { return (i * 2654435761u) % n; };
    spec.subject = [=](std::uint64_t i) { return "obj.Account." + account(from(i)) + ".transfer"; };
    spec.body_for = [=](std::uint64_t i) {
      auto to = (from(i) + 1 + i % (n - 1)) % n;
      return fmt::format(R"({{"to": "{}", "amount": 1}})", account(to));
    };
    auto db = store::connect(stack_->database_url());
    auto scalar = [&](const char* sql) {
      pqxx::nontransaction tx(*db);
      auto r = tx.exec1(sql);
      return r[0].is_null() ? 0 : r[0].as<std::int64_t>();
    };
    auto started = std::chrono::steady_clock::now();
    Row transfers;
    transfers.load = run_load(spec);
    auto sent_by_load_end = std::chrono::steady_clock::now();
    bool drained =
        testing::wait_until([&] { return scalar("SELECT count(*) FROM dobj.outbox") == 0; }, 120s);
    auto done = std::chrono::steady_clock::now();
    auto sent = scalar("SELECT sum(seq) FROM dobj.outbox_seq WHERE class = 'Account'");
    transfers.note = fmt::format("{:.2f}× the spread increments",
                                 transfers.load.throughput / spread.load.throughput);
    fmt::print(stderr, "  {:<58} {:>9.0f}/s  p99 {:.2f} ms\n", spec.name, transfers.load.throughput,
               transfers.load.p99_ms);
    Row credits;
    credits.load.name = fmt::format("dobj: their credits delivered (outbox, {} senders)", n);
    credits.load.completed = credits.load.answered = static_cast<std::uint64_t>(sent);
    credits.load.errors = drained ? 0 : 1;
    credits.load.seconds = std::chrono::duration<double>(done - started).count();
    credits.load.throughput = static_cast<double>(sent) / credits.load.seconds;
    credits.note = drained
                       ? fmt::format("all {} delivered {:.2f} s after the last transfer", sent,
                                     std::chrono::duration<double>(done - sent_by_load_end).count())
                       : fmt::format("{} still in the outbox after 120 s",
                                     scalar("SELECT count(*) FROM dobj.outbox"));
    return {transfers, credits};
  }

  // The added latency of an awaited call (ctx.call): Counter.add_from, which awaits a get of
  // another Counter and then adds, against a client's direct get and (`direct_inc`, the same
  // run's) direct inc. The call costs the caller's commit (the call stored), the callee's turn,
  // and the continuation's commit; the courier carries it both ways.
  std::tuple<Row, Row, Row> awaited_calls(const Row& direct_inc) {
    auto get = load("dobj: Counter get, 1 client (the call's baseline)", 1,
                    [](auto) { return "obj.Counter.callee.get"; });
    auto call = load(
        "dobj: Counter add_from = awaited get + inc, 1 client", 1,
        [](auto) { return "obj.Counter.caller.add_from"; }, true, 0, 0, R"({"from": "callee"})");
    call.note =
        fmt::format("+{:.2f} ms p50 over a direct get ({:.1f}×), {:.1f}× a direct inc's p50",
                    call.load.p50_ms - get.load.p50_ms, call.load.p50_ms / get.load.p50_ms,
                    call.load.p50_ms / direct_inc.load.p50_ms);
    auto many = load(
        "dobj: add_from from 1,000 callers, 16 clients", 16,
        [](std::uint64_t i) { return fmt::format("obj.Counter.caller{}.add_from", i % 1000); },
        true, 0, 0, R"({"from": "callee"})");
    return {get, call, many};
  }

  // Increments spread over mode_.spread_objects existing objects (and the naive service's ids).
  std::pair<Row, Row> spread_increments() {
    auto spread = [n = mode_.spread_objects](const char* prefix) {
      return [n, prefix](std::uint64_t i) {
        return fmt::format("{}{}", prefix, (i * 2654435761u) % static_cast<std::uint64_t>(n));
      };
    };
    // Steady state, not first touches: every id exists (and every object has its schema) before
    // the measured runs, and every object is active (touched again just before its run: the
    // schema pool's refill and the naive run take longer than the idle timeout).
    auto touch = [&](const std::string& p) {
      load(
          fmt::format("setup: touch {} ids of {}", mode_.spread_objects, p), 64,
          [p](std::uint64_t i) { return p + std::to_string(i) + (p[0] == 'o' ? ".inc" : ""); },
          false, 0, static_cast<std::uint64_t>(mode_.spread_objects));
    };
    touch("naive.inc.s");
    touch("obj.Counter.s");
    // The first writes emptied the schema pool: its refill (catalog writes, checkpoints) is not
    // the steady state either, and first_writes() measures it.
    wait_for_ready_schemas();
    auto naive_spread = load(
        fmt::format("naive: spread over {} ids, 64 clients", mode_.spread_objects), 64,
        [&](std::uint64_t i) { return spread("naive.inc.s")(i); }, true);
    touch("obj.Counter.s");
    auto dobj_spread = load(
        fmt::format("dobj: spread over {} objects, 64 clients", mode_.spread_objects), 64,
        [&](std::uint64_t i) { return spread("obj.Counter.s")(i) + ".inc"; }, true);
    return {naive_spread, dobj_spread};
  }

  // The issue's size for a burst of new objects, at most the mode's activation count.
  std::uint64_t pool_objects() const {
    return std::min<std::uint64_t>(mode_.activation_objects, kNewObjectBurst);
  }

  void wait_for_ready_schemas() {
    auto db = store::connect(stack_->database_url());
    auto want = static_cast<std::int64_t>(pool_objects());
    if (!testing::wait_until([&] { return store::ready_schemas(*db) >= want; }, 10min)) {
      throw std::runtime_error("the worker did not fill its schema pool");
    }
  }

  // First writes: a burst of new objects the pool of ready schemas covers (and the naive
  // service's first writes of as many new ids), then more than the pool holds, the worker
  // refilling it meanwhile: sustained creation, a schema created in most commits.
  std::tuple<Row, Row, Row> first_writes() {
    auto burst = pool_objects();
    wait_for_ready_schemas();
    auto db = store::connect(stack_->database_url());
    auto ready_before = store::ready_schemas(*db);
    auto naive = load(
        fmt::format("naive: first write of {} new ids, 64 clients", burst), 64,
        [](std::uint64_t i) { return fmt::format("naive.inc.new{}", i); }, true, 0, burst);
    auto pooled = load(
        fmt::format("dobj: first write of {} new objects (ready schemas), 64 clients", burst), 64,
        [](std::uint64_t i) { return fmt::format("obj.Counter.new{}.inc", i); }, true, 0, burst);
    pooled.note = fmt::format("{:.2f}× naive; ready schemas {} → {}",
                              pooled.load.throughput / naive.load.throughput, ready_before,
                              store::ready_schemas(*db));
    auto n = mode_.activation_objects;
    auto sustained = load(
        fmt::format("dobj: first write of {} more new objects (beyond the pool)", n), 64,
        [](std::uint64_t i) { return fmt::format("obj.Counter.act{}.inc", i); }, true, 0, n);
    return {naive, pooled, sustained};
  }

  Row activation() {
    auto n = mode_.activation_objects;
    // A fresh worker: every object is inactive, with its state in the database.
    worker_->process().signal(SIGTERM);
    worker_->process().wait(60s);
    worker_ = &stack_->start_worker({"--shards", std::to_string(kShards), "--idle-timeout-ms",
                                     "3600000", "--schema-pool", "0"});
    auto base = rss_mb();
    auto activated = load(
        fmt::format("dobj: first activation of {} objects with state", n), 64,
        [](std::uint64_t i) { return fmt::format("obj.Counter.act{}.get", i); }, false, 0, n);
    activation_rss_mb_ = rss_mb();
    scaled_rss_ = base + (activation_rss_mb_ - base) * 100000.0 / static_cast<double>(n);
    activated.note = fmt::format("worker RSS {:.0f} MB → {:.0f} MB", base, activation_rss_mb_);
    return activated;
  }

  // A service's /metrics, parsed.
  static auto scrape(const testing::ServiceProcess& service) {
    return metrics::parse_text(testing::http_get(service.metrics_port(), "/metrics").body);
  }

  // A histogram's buckets from a service's /metrics, summed over its label sets.
  static metrics::Buckets histogram_buckets(const testing::ServiceProcess& service,
                                            const std::string& name) {
    return metrics::histogram_buckets(scrape(service), name);
  }

  static double to_ms(double seconds) { return seconds < 0 ? -1 : seconds * 1000; }

  // n alarms on fresh objects, due at `rate` per second (0: all at one instant), fired by a
  // dobj-timer; lateness = when the alarm's event arrived − when it was due.
  // The timer's own part of it: dobj_alarm_lateness_seconds, how late it sent each alarm.
  metrics::Buckets timer_lateness_buckets() {
    return histogram_buckets(*timer_, "dobj_alarm_lateness_seconds");
  }

  // dobj_alarms_fired_total by outcome: a slow burst says whether the worker refused alarms
  // (no_worker: postponed one by one), failed them, or let them time out.
  std::map<std::string, double> timer_outcomes() {
    std::map<std::string, double> out;
    for (const auto& s : scrape(*timer_)) {
      if (s.name == "dobj_alarms_fired_total") out[s.labels.at("outcome")] += s.value;
    }
    return out;
  }

  // The smallest bucket bound holding share `q` of the observations, as "≤ 25 ms late".
  static std::string quantile_bound(const metrics::Buckets& buckets, double q) {
    double bound = metrics::bucket_bound(buckets, q);
    if (bound < 0) return "(none seen)";
    return std::isinf(bound) ? "more than 30 s late" : fmt::format("≤ {:g} ms late", bound * 1000);
  }

  std::pair<Row, Row> alarm_rows() {
    auto spread = alarms("spread", mode_.spread_alarms, 1000.0, kPlannedSetRate);
    auto burst = alarms("burst", mode_.burst_alarms, 0,
                        std::min(kPlannedSetRate, spread.setup_rate * kBurstSetRateShare));
    return {spread, burst};
  }

  // `rate`: alarms falling due per second (0: all at one instant); `set_rate`: how fast setting
  // them is expected to go, which decides when the first falls due.
  Row alarms(const std::string& kind, std::uint64_t n, double rate, double set_rate) {
    if (!timer_) timer_ = &stack_->start_timer();
    auto sent_before = timer_lateness_buckets();
    auto outcomes_before = timer_outcomes();
    auto now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    // Setting them takes a while; they start falling due once that is surely done.
    constexpr std::int64_t kLeadMs = 5000;
    auto start_ms =
        now_ms() + static_cast<std::int64_t>(static_cast<double>(n) * 1000 / set_rate) + kLeadMs;
    auto due = [=](std::uint64_t i) {
      return start_ms +
             (rate > 0 ? static_cast<std::int64_t>(static_cast<double>(i) * 1000 / rate) : 0);
    };
    std::mutex mutex;
    std::vector<double> lateness;
    std::string prefix = "a" + kind;
    NatsConnection listener({stack_->nats().client_url(), "bench-alarms"});
    auto sub = listener.subscribe("evt.Scratch.*.alarm", [&](natsMsg* m) {
      std::string subject = natsMsg_GetSubject(m);
      natsMsg_Destroy(m);
      auto arrived = now_ms();
      auto id = subject.substr(12, subject.rfind('.') - 12);  // evt.Scratch.<id>.alarm
      if (!id.starts_with(prefix)) return;
      auto i = std::stoull(id.substr(prefix.size()));
      std::lock_guard lock(mutex);
      lateness.push_back(static_cast<double>(arrived - due(i)));
    });
    listener.flush(5s);
    LoadSpec spec;
    spec.name = "setup: set alarms";
    spec.nats_url = stack_->nats().client_url();
    spec.slots = 64;
    spec.max_requests = n;
    spec.subject = [prefix](std::uint64_t i) {
      return "obj.Scratch." + prefix + std::to_string(i) + ".set_alarm";
    };
    spec.body_for = [due](std::uint64_t i) { return fmt::format(R"({{"at_ms": {}}})", due(i)); };
    auto set = run_load(spec);
    auto set_margin_ms = start_ms - now_ms();
    fmt::print(stderr, "  set {} alarms at {:.0f}/s, {:.1f} s before the first is due\n", n,
               set.throughput, static_cast<double>(set_margin_ms) / 1000);
    auto last_due = due(n - 1);
    testing::wait_until(
        [&] {
          std::lock_guard lock(mutex);
          return lateness.size() >= n;
        },
        std::chrono::milliseconds(std::max<std::int64_t>(0, last_due - now_ms()) + 120000));
    sub.reset();
    std::lock_guard lock(mutex);
    Row row;
    row.load.name = rate > 0 ? fmt::format("timer: {} alarms due at {:.0f}/s (lateness)", n, rate)
                             : fmt::format("timer: {} alarms due at one instant (lateness)", n);
    row.load.completed = row.load.answered = lateness.size();
    row.load.timeouts = n - std::min<std::uint64_t>(n, lateness.size());
    row.load.seconds = rate > 0 ? static_cast<double>(n) / rate : 1;
    row.load.throughput = static_cast<double>(lateness.size()) / row.load.seconds;
    std::sort(lateness.begin(), lateness.end());
    auto pct = [&](double p) {
      return lateness.empty()
                 ? 0.0
                 : lateness[static_cast<std::size_t>(p * static_cast<double>(lateness.size() - 1))];
    };
    row.load.p50_ms = pct(0.5);
    row.load.p99_ms = pct(0.99);
    row.load.p999_ms = pct(0.999);
    row.load.max_ms = lateness.empty() ? 0 : lateness.back();
    row.setup_rate = set.throughput;
    row.setup_in_time = set_margin_ms >= 0;
    row.note =
        fmt::format("set at {:.0f}/s; max lateness {:.0f} ms", set.throughput, row.load.max_ms);
    // The timer's own histogram: how late it sent each alarm. The rest of the lateness is the
    // worker's turn, its commit and the event's way back.
    auto sent = timer_lateness_buckets();
    metrics::subtract(sent, sent_before);
    row.note += fmt::format("; the timer sent 99% {}", quantile_bound(sent, 0.99));
    for (const auto& [outcome, count] : timer_outcomes()) {
      auto extra = count - outcomes_before[outcome];
      if (outcome != "ok" && extra > 0) row.note += fmt::format("; {} {:.0f}", outcome, extra);
    }
    if (!row.setup_in_time) {
      row.note += fmt::format(
          "; INVALID: setting ended {:.1f} s after the first was due (it measures the setting)",
          static_cast<double>(-set_margin_ms) / 1000);
    }
    return row;
  }

  static std::string clients(int n) { return n == 1 ? "1 client" : fmt::format("{} clients", n); }
  // The three loads on one object that several groups share, each beside its own baseline.
  Row naive_inc(int n) {
    return load(
        "naive: UPSERT per request, " + clients(n), n, [](auto) { return "naive.inc.hot"; }, true);
  }
  Row hot_inc(int n) {
    return load(
        "dobj: hot object inc, " + clients(n), n, [](auto) { return "obj.Counter.hot.inc"; }, true);
  }
  Row hot_get() {
    return load("dobj: hot object get, 64 clients", 64, [](auto) { return "obj.Counter.hot.get"; });
  }
  // Open-loop at half of what `peak` (the 64-client hot inc) reached: the tail of a worker
  // that is busy, not saturated; and first the echo responder at the same rate, the part of that
  // tail NATS and the load generator make on this machine.
  std::pair<Row, Row> paced_at_half(const Row& peak) {
    double half = peak.load.throughput / 2;
    auto echo = load(
        fmt::format("ceiling: NATS echo paced at {:.0f}/s", half), 256,
        [](auto) { return "echo.x"; }, false, half);
    auto paced = load(
        fmt::format("dobj: hot inc paced at half peak ({:.0f}/s)", half), 256,
        [](auto) { return "obj.Counter.hot.inc"; }, true, half);
    return {echo, paced};
  }

  double worker_cpu_seconds() { return testing::cpu_seconds(worker_->process().pid()); }

  double rss_mb() {
    auto status =
        testing::read_file("/proc/" + std::to_string(worker_->process().pid()) + "/status");
    auto at = status.find("VmRSS:");
    return at == std::string::npos ? 0 : std::stod(status.substr(at + 6)) / 1024.0;
  }

  std::int64_t commits() {
    auto conn = store::connect(stack_->database_url());
    pqxx::nontransaction tx(*conn);
    return tx
        .exec1("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")[0]
        .as<std::int64_t>();
  }

  struct Target {
    std::string what;
    bool met;
    std::string measured;
  };

  void print_report(const std::vector<Row>& rows, const std::vector<Target>& targets) {
    std::string md =
        "| scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors | timeouts | PG commits/req | "
        "note |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
    Value json = {{"rows", Value::array()}, {"targets", Value::array()}};
    for (const auto& r : rows) {
      const auto& l = r.load;
      if (l.answered == 0 || l.errors > 0 || l.timeouts > 0) {
        healthy_ = false;
        fmt::print(stderr, "unhealthy scenario: {}\n", l.name);
      } else if (l.completed == 0) {
        fmt::print(stderr, "no request of {} finished within its window (a busy machine)\n",
                   l.name);
      }
      auto note = r.note;
      if (r.worker_cpu_per_100k >= 0) {
        note += fmt::format("{}worker CPU {:.1f} s per 100k", note.empty() ? "" : "; ",
                            r.worker_cpu_per_100k);
      }
      if (r.worker_p50_ms >= 0) {
        note += fmt::format("{}in the worker p50 {:.2f} ms, p99 {:.2f} ms",
                            note.empty() ? "" : "; ", r.worker_p50_ms, r.worker_p99_ms);
      }
      if (r.pg_cpu_per_100k > 0.05) {
        note += fmt::format("{}PostgreSQL CPU {:.1f} s per 100k", note.empty() ? "" : "; ",
                            r.pg_cpu_per_100k);
      }
      if (r.nats_cpu_per_100k > 0.05) {
        note += fmt::format("{}nats-server CPU {:.1f} s per 100k", note.empty() ? "" : "; ",
                            r.nats_cpu_per_100k);
      }
      md += fmt::format(
          "| {} | {:.0f} | {:.2f} | {:.2f} | {:.2f} | {} | {} | {} | {} |\n", l.name, l.throughput,
          l.p50_ms, l.p99_ms, l.p999_ms, l.errors, l.timeouts,
          r.commits_per_request < 0 ? "-" : fmt::format("{:.3f}", r.commits_per_request), note);
      json["rows"].push_back({{"scenario", l.name},
                              {"throughput", l.throughput},
                              {"p50_ms", l.p50_ms},
                              {"p99_ms", l.p99_ms},
                              {"p999_ms", l.p999_ms},
                              {"errors", l.errors},
                              {"timeouts", l.timeouts},
                              {"completed", l.completed},
                              {"worker_cpu_s_per_100k", r.worker_cpu_per_100k},
                              {"pg_cpu_s_per_100k", r.pg_cpu_per_100k},
                              {"nats_cpu_s_per_100k", r.nats_cpu_per_100k},
                              {"worker_p50_ms", r.worker_p50_ms},
                              {"worker_p99_ms", r.worker_p99_ms},
                              {"note", r.note}});
    }
    md += "\n| target | measured | met |\n|---|---:|---|\n";
    for (const auto& t : targets) {
      md += fmt::format("| {} | {} | {} |\n", t.what, t.measured, t.met ? "yes" : "**no**");
      json["targets"].push_back({{"target", t.what}, {"measured", t.measured}, {"met", t.met}});
    }
    md += fmt::format(
        "\nworker RSS at start: {:.0f} MB; 2 cores shared by NATS, PostgreSQL "
        "(fsync on), the worker, the baselines and the load generator.\n",
        rss_idle_mb_);
    fmt::print("{}", md);
    if (!markdown_out.empty()) std::ofstream(markdown_out) << md;
    if (!json_out.empty()) std::ofstream(json_out) << json.dump(2) << "\n";
  }

  Mode mode_;
  std::string bin_dir_;
  std::string only_;  // one group of scenarios (profiling), or empty for all
  std::unique_ptr<testing::TestStack> stack_;
  testing::WorkerProcess* worker_ = nullptr;
  std::unique_ptr<Process> echo_, naive_;
  double rss_idle_mb_ = 0, activation_rss_mb_ = 0, scaled_rss_ = 0;
  testing::ServiceProcess* timer_ = nullptr;
  bool healthy_ = true;
};

}  // namespace
}  // namespace dobj::bench

int main(int argc, char** argv) {
  CLI::App app{"dobj-bench: throughput and latency against a NATS echo and a naive baseline"};
  std::string mode = "short", json_out, md_out;
  app.add_option("--mode", mode,
                 "smoke (≈ 15 s: proves every scenario runs, the test command's), short (≈ 1 min) "
                 "or full (a few minutes)")
      ->check(CLI::IsMember({"smoke", "short", "full"}))
      ->capture_default_str();
  std::string only;
  app.add_option("--only", only, "run one group of scenarios with its baseline (to profile it)")
      ->check(CLI::IsMember(
          {"first_writes", "spread", "get", "one", "activation", "alarms", "cost", "paced"}));
  std::vector<std::string> worker_args;
  app.add_option("--worker-arg", worker_args,
                 "a flag for the measured worker, repeatable (e.g. --worker-arg=--shards "
                 "--worker-arg=4: the later one wins)");
  app.add_option("--json", json_out, "also write the results as JSON");
  app.add_option("--markdown", md_out, "also write the markdown table to a file");
  CLI11_PARSE(app, argc, argv);
  dobj::bench::Mode m =
      mode == "full"
          ? dobj::bench::Mode{std::chrono::seconds(10), 100000, 100, 10000, 10000, 100000, 1000}
      : mode == "short"
          ? dobj::bench::Mode{std::chrono::seconds(2), 2000, 10, 1000, 2000, 2000, 1000}
          : dobj::bench::Mode{std::chrono::milliseconds(500), 100, 4, 500, 300, 300, 100};
  std::string self = argv[0];
  dobj::bench::Bench bench(m, self.substr(0, self.rfind('/')), only);
  bench.json_out = json_out;
  bench.markdown_out = md_out;
  bench.worker_args = worker_args;
  try {
    bench.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "dobj-bench failed: {}\n", e.what());
    return 1;
  }
  return bench.healthy() ? 0 : 1;
}
