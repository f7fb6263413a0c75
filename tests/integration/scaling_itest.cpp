// Several workers on one NATS + PostgreSQL: handover, drain, idempotent retries, a paused owner.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <thread>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/testing/ledger_load.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class ScalingTest : public StackTest {
 protected:
  std::int64_t worker_id_of(const Process& p) {
    return scalar("SELECT max(id) FROM dobj.workers WHERE pid = " + std::to_string(p.pid()));
  }
  std::int64_t partitions_of(std::int64_t worker) {
    return scalar("SELECT count(*) FROM dobj.partitions WHERE owner = " + std::to_string(worker));
  }
  // A Ledger's stored "op:<op>" value, -1 when absent.
  std::int64_t ledger_op(const std::string& id, const std::string& op) {
    return scalar(
        "SELECT coalesce((SELECT (value #>> '{}')::bigint FROM dobj_admin.kv('Ledger', '" + id +
        "') WHERE key = 'op:" + op + "'), -1)");
  }
};

TEST_F(ScalingTest, AJoiningWorkerTakesItsShareThroughHandoverAndNothingAcknowledgedIsLost) {
  auto& a = stack_.start_worker({"--audit-commits"});
  auto id_a = worker_id_of(a.process());
  LedgerLoad load({stack_.nats().client_url(), 4, 32});
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= 200; }, 60s));
  auto& b = stack_.start_worker({"--audit-commits"});
  auto id_b = worker_id_of(b.process());
  ASSERT_TRUE(
      wait_until([&] { return partitions_of(id_a) == 128 && partitions_of(id_b) == 128; }, 30s));
  auto at_split = load.acked();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= at_split + 200; }, 60s));
  load.stop();
  EXPECT_TRUE(load.results().errors.empty()) << load.results().errors.front();
  EXPECT_EQ(load.results().unknown, 0u);
  EXPECT_EQ(load.results().regressions, 0u);
  for (const auto& [key, n] : load.results().acked) {
    ASSERT_EQ(ledger_op(key.first, key.second), n) << key.first << " " << key.second;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.kv('Ledger', 'obj0') WHERE key = 'dups'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.handovers WHERE event = 'released' AND "
                   "worker = " +
                   std::to_string(id_a)),
            128);
  // Objects of both workers were committed by both over the run, never under one epoch by two.
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT 1 FROM dobj.commit_audit GROUP BY class, id, "
                   "epoch HAVING count(DISTINCT owner) > 1) x"),
            0);
  EXPECT_GT(scalar("SELECT count(DISTINCT owner) FROM dobj.commit_audit"), 1);
}

TEST_F(ScalingTest, DobjDrainHandsEverythingToTheOthersAndTheWorkerExitsZero) {
  auto& a = stack_.start_worker();
  auto& b = stack_.start_worker();
  auto id_a = worker_id_of(a.process()), id_b = worker_id_of(b.process());
  ASSERT_TRUE(wait_until([&] { return partitions_of(id_b) == 128; }, 30s));
  LedgerLoad load({stack_.nats().client_url(), 2, 16});
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= 100; }, 60s));
  std::string out;
  int rc = run_command({cli_binary(), "--db", stack_.database_url(), "drain", std::to_string(id_a),
                        "--timeout-s", "30"},
                       &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("drained and stopped"), std::string::npos) << out;
  auto status = a.process().wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << a.log();
  EXPECT_TRUE(wait_until([&] { return partitions_of(id_b) == 256; }, 10s));
  auto after = load.acked();
  ASSERT_TRUE(wait_until([&] { return load.acked() >= after + 100; }, 60s));
  load.stop();
  EXPECT_TRUE(load.results().errors.empty()) << load.results().errors.front();
  EXPECT_EQ(load.results().unknown, 0u);
  EXPECT_EQ(load.results().regressions, 0u);
  for (const auto& [key, n] : load.results().acked) ASSERT_EQ(ledger_op(key.first, key.second), n);

  rc = run_command({cli_binary(), "--db", stack_.database_url(), "drain", std::to_string(id_a)},
                   &out);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("not a live serving worker"), std::string::npos) << out;
  rc = run_command({cli_binary(), "--db", stack_.database_url(), "workers", "--json"}, &out);
  EXPECT_EQ(rc, 0);
  // The survivor, alone and live, holds every partition.
  auto listed = Value::parse(out.substr(0, out.rfind(']') + 1));
  ASSERT_EQ(listed.size(), 1u) << out;
  EXPECT_EQ(listed[0]["id"], id_b);
  EXPECT_EQ(listed[0]["partitions"], 256);
  EXPECT_EQ(listed[0]["state"], "serving");
}

TEST_F(ScalingTest, ARetriedIdempotencyKeyGetsTheFirstReplyInAnyContentType) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  auto call = [&](const std::string& body, const std::map<std::string, std::string>& headers) {
    return NatsMessage(nats.request("obj.Ledger.idem.add", body, headers, 10s));
  };
  auto first = call(R"({"op":"x"})", {{"Dobj-Idempotency-Key", "k1"}});
  auto again = call(R"({"op":"x"})", {{"Dobj-Idempotency-Key", "k1"}});
  EXPECT_EQ(first.body, R"({"n":1})");
  EXPECT_EQ(again.body, first.body);
  auto packed = call(R"({"op":"x"})",
                     {{"Dobj-Idempotency-Key", "k1"}, {"Content-Type", "application/msgpack"}});
  EXPECT_EQ(protocol::decode_body(protocol::ContentType::kMsgpack, packed.body)["n"], 1);
  auto other = call(R"({"op":"y"})", {{"Dobj-Idempotency-Key", "k2"}});
  EXPECT_EQ(other.body, R"({"n":2})");
  // A handler's own error is the request's final answer too.
  auto bad = call(R"({"op":""})", {{"Dobj-Idempotency-Key", "k3"}});
  auto bad_again = call(R"({"op":"z"})", {{"Dobj-Idempotency-Key", "k3"}});
  EXPECT_EQ(bad.header("Dobj-Status"), "error");
  EXPECT_EQ(bad_again.body, bad.body);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.idempotency_keys WHERE id = 'idem'"), 3);

  auto too_long = call("{}", {{"Dobj-Idempotency-Key", std::string(300, 'k')}});
  EXPECT_NE(too_long.body.find("bad_request"), std::string::npos) << too_long.body;
  auto bad_timeout = call("{}", {{"Dobj-Timeout-Ms", "soon"}});
  EXPECT_NE(bad_timeout.body.find("bad_request"), std::string::npos) << bad_timeout.body;
}

TEST_F(ScalingTest, APausedOwnerNeverCommitsNorRepliesForWhatItLost) {
  // A short lease so that the test does not wait long; the rules are the same at any TTL.
  std::vector<std::string> fast{"--lease-ttl-ms", "1000", "--heartbeat-ms", "200",
                                "--audit-commits"};
  auto& a = stack_.start_worker(fast);
  auto id_a = worker_id_of(a.process());
  NatsConnection nats(client_options());
  Client client(nats);
  // Each op under its own key, retried through the failover.
  auto add = [&](const std::string& object, const std::string& op) {
    CallOptions call;
    call.timeout = 1s;
    call.max_attempts = 1000;
    call.total_timeout = 30s;
    call.idempotency_key.emplace(op);
    return client.call("Ledger", object, "add", {{"op", op}}, call)["n"].get<std::int64_t>();
  };
  ASSERT_EQ(add("p1", "before"), 1);
  auto& b = stack_.start_worker(fast);
  ASSERT_TRUE(wait_until([&] { return partitions_of(worker_id_of(b.process())) == 128; }, 30s));
  ASSERT_TRUE(wait_until([&] { return partitions_of(id_a) == 128; }, 30s));
  // p1 has to be in a's half for the test to mean anything: pick the object by partition.
  std::string id;
  for (int i = 0; id.empty(); ++i) {
    auto candidate = "p" + std::to_string(i);
    if (scalar("SELECT owner FROM dobj.partitions WHERE p = " +
               std::to_string(protocol::partition_of("Ledger", candidate, 256))) == id_a) {
      id = candidate;
    }
  }
  add(id, "warm");

  a.process().signal(SIGSTOP);
  // Sent while a is stopped and still the only subscriber: it sits in a's socket buffer.
  auto inbox = "_INBOX.paused." + id;
  // A `moved` answer claims nothing and is allowed; a success would be a lie.
  std::atomic<int> stale_replies{0};
  auto sub = nats.subscribe(inbox, [&](natsMsg* m) {
    if (NatsMessage::from(m).header("Dobj-Status") == "ok") ++stale_replies;
    natsMsg_Destroy(m);
  });
  nats.publish("obj.Ledger." + id + ".add", R"({"op":"stale"})", {}, inbox);
  nats.flush(2s);
  // b takes a's partitions once a's lease runs out, and serves the object.
  EXPECT_GE(add(id, "during"), 2);
  a.process().signal(SIGCONT);
  // a finds its lease gone, drops what it held and registers anew.
  ASSERT_TRUE(wait_until([&] { return a.log().find("registered anew") != std::string::npos; }, 20s))
      << a.log();
  add(id, "after");
  nats.flush(2s);
  EXPECT_EQ(stale_replies.load(), 0);
  EXPECT_EQ(ledger_op(id, "stale"), -1);
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT 1 FROM dobj.commit_audit GROUP BY class, id, "
                   "epoch HAVING count(DISTINCT owner) > 1) x"),
            0);
  // Epochs never go back as versions go forward.
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT epoch < lag(epoch) OVER (PARTITION BY class, id "
                   "ORDER BY version) AS back FROM dobj.commit_audit) x WHERE back"),
            0);
}

}  // namespace
}  // namespace dobj::testing
