// Partial failures seen from outside: a stuck handler, a worker cut off from PostgreSQL or from
// NATS. Every reply must keep its promise (schemas/protocol.md: "A reply is a promise").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <future>
#include <thread>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/stop_signals.hpp"
#include "dobj/metrics/scrape.hpp"
#include "dobj/testing/cluster.hpp"
#include "dobj/testing/counter_load.hpp"
#include "dobj/testing/http_get.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class FailureTest : public StackTest {
 protected:
  // Whether one of the worker's shards is running a turn (dobj_running_turn_seconds).
  static bool running_a_turn(ServiceProcess& worker) {
    auto r = http_get(worker.metrics_port(), "/metrics");
    for (const auto& sample : metrics::parse_text(r.body)) {
      if (sample.name == "dobj_running_turn_seconds" && sample.value > 0) return true;
    }
    return false;
  }
  // Starts Scratch.spin on `id` for a minute, without waiting for its (never coming) reply;
  // returns once the worker runs it.
  std::future<void> start_spinning(const std::string& id, ServiceProcess& worker) {
    auto future = std::async(std::launch::async, [this, id] {
      NatsConnection nats(client_options());
      try {
        nats.request("obj.Scratch." + id + ".spin", R"({"ms": 60000})", {}, 3s);
      } catch (const std::exception&) {
        // no reply: the worker gave the shard up
      }
    });
    EXPECT_TRUE(wait_until([&] { return running_a_turn(worker); }, 20s));
    return future;
  }
};

// A handler that never returns: what waits behind it is answered `moved` (never run there), the
// worker hands everything else over and exits 4, and the stuck object is served elsewhere.
TEST_F(FailureTest, AStuckTurnMakesTheWorkerGiveUpAndTheObjectIsServedElsewhere) {
  auto& stuck = stack_.start_worker({"--max-turn-ms", "1000"});
  NatsConnection nats(client_options());
  Client client(nats);
  ASSERT_EQ(client.call("Counter", "elsewhere", "inc", nullptr, {}), 1);
  auto spinning = start_spinning("spinner", stuck);
  // Queued behind the stuck turn on the same object: refused, with a promise that it never runs.
  auto behind = raw_call(nats, "obj.Scratch.spinner.put", R"({"key": "k", "value": 1})", "", 20s);
  EXPECT_EQ(error_code(behind), "moved") << behind.body.dump();
  auto status = stuck.process().wait(30s);
  ASSERT_TRUE(status) << "the worker did not exit after its turn got stuck";
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), kExitStuckTurn);
  spinning.get();
  // A fresh worker serves everything, the stuck object included, with nothing of the stuck turn.
  stack_.start_worker();
  CallOptions patient;
  patient.total_timeout = 30s;
  EXPECT_EQ(client.call("Scratch", "spinner", "get", {{"key", "k"}}, patient), nullptr);
  EXPECT_EQ(client.call("Counter", "elsewhere", "inc", nullptr, patient), 2);
}

// SIGTERM completes even while a turn is stuck: the rest drains and the process exits.
TEST_F(FailureTest, SigtermCompletesWhileATurnIsStuck) {
  auto& worker = stack_.start_worker({"--max-turn-ms", "1500"});
  NatsConnection nats(client_options());
  ASSERT_EQ(Client(nats).call("Counter", "drained", "inc", nullptr, {}), 1);
  auto spinning = start_spinning("sigterm", worker);
  worker.process().signal(SIGTERM);
  auto status = worker.process().wait(30s);
  ASSERT_TRUE(status) << "SIGTERM did not complete with a stuck turn";
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), kExitStuckTurn);
  // The other objects were handed back in order: released, not left to a lease to run out.
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE id = 'drained' AND owner IS NOT NULL"),
            0);
  spinning.get();
}

// The issue's reproduction: two workers, clients without idempotency keys, the first worker's
// PostgreSQL link swallowing everything twice for three lease times while its NATS link works.
// Before, it answered `moved` for requests the other worker then applied. Now every object ends
// within [acked, acked + unknown]: nothing refused was applied, nothing acknowledged was lost.
TEST(FailureCluster, AWorkerCutOffFromPostgresNeverRefusesWhatAnotherApplies) {
  // Short database deadlines keep the cut-off worker's shards free to answer (as idle shards
  // are): the dangerous replies are the ones sent without the database.
  Cluster cluster(
      {.workers = 2,
       .timers = 0,
       .worker_args = {"--pg-statement-timeout-ms", "400", "--pg-call-timeout-ms", "800"},
       .nats_nodes = 1,
       .storage_shards = 0});
  ASSERT_TRUE(cluster.wait_balanced(30s));
  // Light load over many objects: most requests during a cut are for objects not yet active.
  CounterLoad load({cluster.stack().nats().client_url(), 2, 2000, "cut", 2000ms, 5ms});
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= 200; }, 30s));
  for (int round = 0; round < 2; ++round) {
    cluster.cut_from_postgres(0, 6s);
    auto before = load.acked();
    ASSERT_TRUE(wait_until([&] { return load.acked() >= before + 200; }, 30s));
  }
  load.stop();
  auto violations = load.violations_in(cluster.stack().database_url());
  EXPECT_TRUE(violations.empty()) << violations.size() << " objects, e.g. " << violations.front();
  EXPECT_TRUE(load.results().errors.empty()) << load.results().errors.front();
}

// Cut off from NATS a worker is unavailable: after a lease TTL it hands its partitions to the
// connected worker, and it claims its share again once its link is back.
TEST(FailureCluster, AWorkerCutOffFromNatsGivesItsPartitionsAwayAndComesBack) {
  Cluster cluster(
      {.workers = 2, .timers = 0, .worker_args = {}, .nats_nodes = 1, .storage_shards = 0});
  ASSERT_TRUE(cluster.wait_balanced(30s));
  CounterLoad load({cluster.stack().nats().client_url(), 2, 100, "natscut", 2000ms, 2ms});
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= 100; }, 30s));
  auto cut_id = cluster.worker_id(cluster.worker(0));
  auto other_id = cluster.worker_id(cluster.worker(1));
  auto owned = [&](std::int64_t id) {
    return cluster.stack().query_int("SELECT count(*) FROM dobj.partitions WHERE owner = " +
                                     std::to_string(id));
  };
  std::atomic<bool> given_away{false};
  std::thread cutter([&] { cluster.cut_from_nats(0, 10s); });
  given_away = wait_until([&] { return owned(cut_id) == 0 && owned(other_id) == 256; }, 10s);
  cutter.join();
  EXPECT_TRUE(given_away) << "the cut-off worker kept " << owned(cut_id) << " partitions";
  // Handed over in order (released), not taken from it after a lost lease: the heartbeat never
  // waited for NATS.
  EXPECT_EQ(cluster.stack().query_int("SELECT count(*) FROM dobj.partition_log WHERE "
                                      "event = 'taken_over' AND previous_owner = " +
                                      std::to_string(cut_id)),
            0);
  EXPECT_EQ(cluster.worker_id(cluster.worker(0)), cut_id) << "the cut-off worker lost its lease";
  EXPECT_TRUE(cluster.wait_balanced(30s));
  auto before = load.acked();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= before + 100; }, 30s));
  load.stop();
  auto violations = load.violations_in(cluster.stack().database_url());
  EXPECT_TRUE(violations.empty()) << violations.size() << " objects, e.g. " << violations.front();
  EXPECT_TRUE(load.results().errors.empty()) << load.results().errors.front();
}

}  // namespace
}  // namespace dobj::testing
