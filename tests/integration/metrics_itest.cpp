// /metrics, /healthz and /readyz of dobj-worker and dobj-timer after known traffic: the counts
// are exact, the labels bounded (class and method names, never object ids).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/testing/http_get.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class MetricsTest : public StackTest {
 protected:
  static std::string scrape(ServiceProcess& service) {
    auto r = http_get(service.metrics_port(), "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }
  // The value of one series ("name{labels}" as Prometheus prints it), -1 when absent.
  static double value(const std::string& text, const std::string& series) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
  }
};

TEST_F(MetricsTest, TheWorkerCountsEveryRequestByClassMethodAndStatus) {
  auto& worker = stack_.start_worker();
  for (int i = 0; i < 5; ++i) call("Counter", "m" + std::to_string(i % 2), "inc");
  call("Counter", "m0", "get");
  call("Counter", "m1", "get");
  EXPECT_EQ(call_error("Counter", "m0", "inc", {{"by", "x"}}), ErrorCode::kBadRequest);
  EXPECT_EQ(call_error("Nope", "m0", "inc"), ErrorCode::kNoSuchClass);
  EXPECT_EQ(call_error("Counter", "m0", "nope"), ErrorCode::kNoSuchMethod);

  auto text = scrape(worker);
  auto requests = [&](const std::string& c, const std::string& m, const std::string& s) {
    return value(
        text, "dobj_requests_total{class=\"" + c + "\",method=\"" + m + "\",status=\"" + s + "\"}");
  };
  EXPECT_EQ(requests("Counter", "inc", "ok"), 5) << text;
  EXPECT_EQ(requests("Counter", "get", "ok"), 2);
  EXPECT_EQ(requests("Counter", "inc", "bad_request"), 1);
  // Before a class and method are known, no label a client could choose.
  EXPECT_EQ(requests("", "", "no_such_class"), 1);
  EXPECT_EQ(requests("", "", "no_such_method"), 1);
  EXPECT_EQ(text.find("Nope"), std::string::npos);
  EXPECT_EQ(text.find("m0"), std::string::npos);  // object ids are never labels
  EXPECT_EQ(value(text, "dobj_turn_seconds_count{class=\"Counter\",method=\"inc\"}"), 6);
  EXPECT_EQ(value(text, "dobj_turn_seconds_count{class=\"Counter\",method=\"get\"}"), 2);
  // Every answer of a named method, refusals included, has its time in the worker; an inc's
  // includes its commit, so it is never shorter than the turn.
  EXPECT_EQ(value(text, "dobj_reply_seconds_count{class=\"Counter\",method=\"inc\"}"), 6);
  EXPECT_EQ(value(text, "dobj_reply_seconds_count{class=\"Counter\",method=\"get\"}"), 2);
  EXPECT_GE(value(text, "dobj_reply_seconds_sum{class=\"Counter\",method=\"inc\"}"),
            value(text, "dobj_turn_seconds_sum{class=\"Counter\",method=\"inc\"}"));
  EXPECT_EQ(value(text, "dobj_reply_seconds_count{class=\"\",method=\"\"}"), -1);
  // Each inc committed on its own (the calls were sequential); gets and refusals write nothing.
  EXPECT_EQ(value(text, "dobj_commit_seconds_count"), 5);
  EXPECT_EQ(value(text, "dobj_commit_batch_objects_sum"), 5);
  EXPECT_EQ(value(text, "dobj_lease_valid"), 1);
  EXPECT_EQ(value(text, "dobj_partitions_owned"), 256);
  EXPECT_EQ(value(text, "dobj_active_objects"), 2);
  EXPECT_EQ(value(text, "dobj_queue_depth{shard=\"0\"}"), 0);
  EXPECT_EQ(value(text, "dobj_queue_depth{shard=\"1\"}"), 0);
  EXPECT_EQ(value(text, "dobj_handovers_total{event=\"claimed\"}"), 256);
  EXPECT_EQ(value(text, "dobj_handovers_total{event=\"lost\"}"), 0);
  // m0 and m1, each claimed before its first turn; nothing arrived during a commit.
  auto claims = [&](const std::string& when, const std::string& outcome) {
    return value(text,
                 "dobj_object_claims_total{outcome=\"" + outcome + "\",when=\"" + when + "\"}");
  };
  EXPECT_EQ(claims("in_turn", "claimed"), 2);
  EXPECT_EQ(claims("in_turn", "refused"), 0);
  EXPECT_EQ(claims("ahead", "claimed"), 0);
  EXPECT_EQ(claims("ahead", "refused"), 0);
  EXPECT_EQ(value(text, "dobj_pg_errors_total"), 0);
  EXPECT_EQ(value(text, "dobj_nats_reconnects_total"), 0);

  EXPECT_EQ(http_get(worker.metrics_port(), "/healthz").status, 200);
  EXPECT_EQ(http_get(worker.metrics_port(), "/readyz").status, 200);
  worker.process().signal(SIGTERM);
  ASSERT_TRUE(worker.process().wait(20s));
  EXPECT_EQ(http_get(worker.metrics_port(), "/healthz").status, 0);  // gone with the process
}

// A worker flag given twice takes its last value (dobj-bench's --worker-arg and wrappers append
// overrides): three shards here, each with its queue depth.
TEST_F(MetricsTest, AWorkerFlagGivenTwiceTakesItsLastValue) {
  auto& worker = stack_.start_worker({"--shards", "1", "--shards", "3"});
  call("Counter", "twice", "inc");
  auto text = scrape(worker);
  EXPECT_GE(value(text, "dobj_queue_depth{shard=\"2\"}"), 0) << text;
  EXPECT_EQ(value(text, "dobj_queue_depth{shard=\"3\"}"), -1);
}

TEST_F(MetricsTest, TheTimerCountsFiredAlarmsAndTheirLateness) {
  stack_.start_worker();
  auto& timer = stack_.start_timer();
  for (int i = 0; i < 3; ++i)
    call("Scratch", "t" + std::to_string(i), "set_alarm", {{"in_ms", 50}});
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM dobj.alarms") == 0; }, 20s));
  std::string text;
  ASSERT_TRUE(wait_until(
      [&] {
        text = scrape(timer);
        return value(text, "dobj_alarms_fired_total{outcome=\"ok\"}") == 3;
      },
      10s))
      << text;
  EXPECT_EQ(value(text, "dobj_alarm_lateness_seconds_count"), 3);
  EXPECT_EQ(value(text, "dobj_alarms_fired_total{outcome=\"error\"}"), 0);
  EXPECT_EQ(value(text, "dobj_dead_alarms_total"), 0);
  EXPECT_EQ(value(text, "dobj_alarms_claimed"), 0);
  EXPECT_EQ(http_get(timer.metrics_port(), "/readyz").status, 200);
}

// deploy/grafana/dobj.json names only series that a worker's and a timer's scrape show.
TEST_F(MetricsTest, TheDashboardNamesOnlyMetricsAScrapeShows) {
  auto& worker = stack_.start_worker();
  auto& timer = stack_.start_timer();
  call("Counter", "d", "inc");
  call("Scratch", "d", "set_alarm", {{"in_ms", 20}});
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM dobj.alarms") == 0; }, 20s));
  std::set<std::string> seen;
  for (auto* service : {static_cast<ServiceProcess*>(&worker), &timer}) {
    std::istringstream lines(scrape(*service));
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line[0] == '#') continue;
      seen.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  auto dashboard = Value::parse(read_file(source_dir() + "/deploy/grafana/dobj.json"));
  std::size_t named = 0;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) {
      auto expr = target["expr"].get<std::string>();
      // Every dobj_[a-z_]+ in the expression.
      for (auto at = expr.find("dobj_"); at != std::string::npos; at = expr.find("dobj_", at)) {
        auto end = expr.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", at);
        auto name = expr.substr(at, end == std::string::npos ? std::string::npos : end - at);
        ++named;
        EXPECT_TRUE(seen.count(name)) << panel["title"] << ": " << name;
        at += name.size();
      }
    }
  }
  EXPECT_GE(named, 16u);
}

// dobj top finds the live workers in the database, scrapes each twice and shows rates.
TEST_F(MetricsTest, DobjTopShowsEachWorkerAndTheBusiestMethods) {
  stack_.start_worker();
  stack_.start_worker();
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::thread load([&] {
    NatsConnection nats(client_options("top-load"));
    Client client(nats);
    for (int i = 0; !stop; ++i) {
      client.call("Counter", "top" + std::to_string(i % 20), "inc", nullptr);
      ++done;
    }
  });
  ASSERT_TRUE(wait_until([&] { return done > 20; }, 20s));
  std::string out;
  int rc = run_command(
      {cli_binary(), "--db", stack_.database_url(), "top", "--once", "--json", "--interval-s", "1"},
      &out);
  std::string text;
  int text_rc = run_command(
      {cli_binary(), "--db", stack_.database_url(), "top", "--once", "--interval-s", "0.5"}, &text);
  stop = true;
  load.join();
  ASSERT_EQ(rc, 0) << out;
  auto view = Value::parse(out.substr(0, out.rfind('}') + 1));
  ASSERT_EQ(view["workers"].size(), 2u) << out;
  EXPECT_TRUE(view["unreachable"].empty());
  double total = 0;
  for (const auto& w : view["workers"]) total += w["requests_per_s"].get<double>();
  EXPECT_GT(total, 0) << out;
  ASSERT_FALSE(view["methods"].empty()) << out;
  EXPECT_EQ(view["methods"][0]["name"], "Counter.inc");  // the busiest
  EXPECT_GT(view["methods"][0]["requests_per_s"].get<double>(), 0);
  EXPECT_EQ(view["methods"][0]["errors_per_s"].get<double>(), 0);
  EXPECT_TRUE(view["methods"][0]["p99_turn_s"].is_number()) << out;
  EXPECT_TRUE(view["methods"][0]["p99_reply_s"].is_number()) << out;
  ASSERT_EQ(text_rc, 0) << text;
  EXPECT_NE(text.find("P99 TURN"), std::string::npos) << text;
  EXPECT_NE(text.find("P99 IN WORKER"), std::string::npos) << text;
  EXPECT_NE(text.find("Counter.inc"), std::string::npos) << text;
}

// A worker whose database is gone cannot keep its lease: /readyz says so while /healthz is fine.
TEST_F(MetricsTest, ReadinessFollowsTheLeaseWhileHealthStaysUp) {
  auto& worker = stack_.start_worker({"--lease-ttl-ms", "1000", "--heartbeat-ms", "200"});
  EXPECT_EQ(http_get(worker.metrics_port(), "/readyz").status, 200);
  // Ending the lease in the database is what a long cut-off from it amounts to.
  scalar("UPDATE dobj.workers SET lease_until = now() - interval '1 second' RETURNING 1");
  ASSERT_TRUE(
      wait_until([&] { return http_get(worker.metrics_port(), "/readyz").status == 503; }, 10s));
  EXPECT_EQ(http_get(worker.metrics_port(), "/healthz").status, 200);
  // It registers anew and is ready again.
  EXPECT_TRUE(
      wait_until([&] { return http_get(worker.metrics_port(), "/readyz").status == 200; }, 20s));
}

}  // namespace
}  // namespace dobj::testing
