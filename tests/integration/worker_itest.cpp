// dobj-worker end to end with a real nats-server and PostgreSQL (tests/support).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <set>
#include <thread>

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/testing/stack_test.hpp"
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class WorkerTest : public StackTest {};

TEST_F(WorkerTest, RequestReplyThroughTheMappingInJsonAndMsgpack) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  auto r = raw_call(nats, "obj.Counter.rr.inc", R"({"by": 2})");
  EXPECT_EQ(r.status, "ok");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, 2);
  auto m = raw_call(nats, "obj.Counter.rr.inc", encode_msgpack({{"by", 3}}), "application/msgpack");
  EXPECT_EQ(m.status, "ok");
  EXPECT_EQ(m.content_type, "application/msgpack");
  EXPECT_EQ(m.body, 5);
  EXPECT_EQ(raw_call(nats, "obj.Counter.rr.get", "").body, 5);
  EXPECT_TRUE(raw_call(nats, "obj.Counter.rr.reset", "").body.is_null());
  EXPECT_EQ(raw_call(nats, "obj.Counter.rr.get", "").body, 0);
}

TEST_F(WorkerTest, ConcurrentIncrementsOnOneObjectAreSerialized) {
  constexpr int kClients = 32;
  constexpr int kPerClient = 500;
  stack_.start_worker();
  std::vector<std::vector<std::int64_t>> seen(kClients);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      NatsConnection nats(client_options());
      Client client(nats);
      for (int i = 0; i < kPerClient; ++i) {
        try {
          seen[c].push_back(client.call("Counter", "hot", "inc", nullptr).get<std::int64_t>());
        } catch (const Error& e) {
          ++failures;
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures, 0);
  std::set<std::int64_t> distinct;
  for (const auto& s : seen) {
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));  // one client sees its own writes in order
    distinct.insert(s.begin(), s.end());
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kClients * kPerClient));
  EXPECT_EQ(*distinct.begin(), 1);
  EXPECT_EQ(*distinct.rbegin(), kClients * kPerClient);
  NatsConnection nats(client_options());
  EXPECT_EQ(Client(nats).call("Counter", "hot", "get", nullptr), kClients * kPerClient);
}

TEST_F(WorkerTest, AcknowledgedIncrementsSurviveSigkillAndRestart) {
  constexpr int kClients = 8;
  constexpr int kAckedBeforeKill = 400;
  constexpr int kAckedAfterRestart = 200;
  auto* first = &stack_.start_worker();
  std::atomic<std::int64_t> acked{0}, after_restart{0}, max_seen{0};
  std::atomic<bool> restarted{false}, done{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      NatsConnection nats(client_options());
      Client client(nats);
      CallOptions options;
      options.timeout = 2s;
      options.max_attempts = 100;  // keep retrying `moved` / no responders across the failover
      while (!done) {
        try {
          auto v = client.call("Counter", "durable", "inc", nullptr, options).get<std::int64_t>();
          ++acked;
          if (restarted) ++after_restart;
          std::int64_t prev = max_seen.load();
          while (v > prev && !max_seen.compare_exchange_weak(prev, v)) {
          }
        } catch (const Error& e) {
          // A timeout leaves the outcome unknown: neither counted nor assumed lost.
          EXPECT_EQ(e.code(), ErrorCode::kTimeout) << e.what();
        }
      }
      (void)c;
    });
  }
  ASSERT_TRUE(wait_until([&] { return acked >= kAckedBeforeKill; }, 60s));
  first->process().signal(SIGKILL);
  first->process().wait(10s);
  auto acked_at_kill = acked.load();
  stack_.start_worker();
  restarted = true;
  ASSERT_TRUE(wait_until([&] { return after_restart >= kAckedAfterRestart; }, 60s));
  done = true;
  for (auto& t : threads) t.join();

  NatsConnection nats(client_options());
  auto final_value = Client(nats).call("Counter", "durable", "get", nullptr).get<std::int64_t>();
  EXPECT_GT(acked_at_kill, 0);
  // Every acknowledged increment is there; nothing beyond what was attempted appeared.
  EXPECT_GE(final_value, acked.load());
  EXPECT_GE(final_value, max_seen.load());
  EXPECT_LE(final_value - acked.load(), kClients * 2);  // at most the in-flight ones per client
}

TEST_F(WorkerTest, EveryBadInputGetsItsErrorCodeAndTheWorkerGoesOn) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  struct Case {
    std::string name, subject, body, content_type, code;
  };
  std::vector<Case> cases{
      {"malformed JSON", "obj.Counter.bad.inc", "{\"by\": ", "", "bad_request"},
      {"bad msgpack", "obj.Counter.bad.inc", std::string("\x92\x01", 2), "application/msgpack",
       "bad_request"},
      {"unsupported content type", "obj.Counter.bad.inc", "<by>1</by>", "text/xml", "bad_request"},
      {"argument of the wrong type", "obj.Counter.bad.inc", R"({"by": "x"})", "", "bad_request"},
      {"unknown class", "obj.Nope.bad.inc", "", "", "no_such_class"},
      {"unknown method", "obj.Counter.bad.nope", "", "", "no_such_method"},
      {"reserved method", "obj.Counter.bad.$nope", "", "", "no_such_method"},
      {"invalid id token", "obj.Counter.bad!id.inc", "", "", "bad_request"},
      {"invalid class token", "obj.1Counter.bad.inc", "", "", "bad_request"},
      {"oversized body", "obj.Scratch.bad.echo", "\"" + std::string(1 << 20, 'x') + "\"", "",
       "too_large"},
      {"handler throws", "obj.Scratch.bad.put_then_throw", R"({"key": "k", "value": 1})", "",
       "handler_error"},
  };
  for (const auto& c : cases) {
    auto r = raw_call(nats, c.subject, c.body, c.content_type);
    EXPECT_EQ(error_code(r), c.code) << c.name << ": " << r.body.dump();
    EXPECT_EQ(raw_call(nats, "obj.Counter.ok.inc", "").status, "ok") << "after " << c.name;
  }
  // A body just under the limit is served.
  auto big = raw_call(nats, "obj.Scratch.bad.echo", "\"" + std::string((1 << 20) - 2, 'y') + "\"");
  EXPECT_EQ(big.status, "ok");
  EXPECT_EQ(big.body.get_ref<const std::string&>().size(), (1u << 20) - 2);
  // Replies of a bad msgpack request still come back in msgpack.
  auto mp = raw_call(nats, "obj.Nope.x.y", "", "application/msgpack");
  EXPECT_EQ(mp.content_type, "application/msgpack");
  EXPECT_EQ(error_code(mp), "no_such_class");
  EXPECT_EQ(raw_call(nats, "obj.Counter.ok.get", "").body, static_cast<int>(cases.size()));
}

TEST_F(WorkerTest, AThrowingHandlerLeavesNoWritesAndNoMemoryChanges) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  Client client(nats);
  client.call("Scratch", "undo", "put", {{"key", "k"}, {"value", 1}});
  EXPECT_THROW(client.call("Scratch", "undo", "put_then_throw", {{"key", "k"}, {"value", 2}}),
               Error);
  EXPECT_EQ(client.call("Scratch", "undo", "get", {{"key", "k"}}), 1);
  EXPECT_EQ(client.call("Scratch", "undo", "writes", nullptr), Value({{"writes", 1}}));
  // A throwing first turn on a fresh object creates nothing either.
  EXPECT_THROW(client.call("Scratch", "fresh", "put_then_throw", {{"key", "k"}, {"value", 2}}),
               Error);
  EXPECT_TRUE(client.call("Scratch", "fresh", "get", {{"key", "k"}}).is_null());
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE id = 'fresh' AND schema_name IS NULL"),
            1);
}

TEST_F(WorkerTest, AReplyNeverLeavesBeforeItsCommit) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  ASSERT_EQ(raw_call(nats, "obj.Counter.gate.inc", "").body, 1);

  auto blocker = store::connect(stack_.database_url());
  pqxx::work lock_tx(*blocker);
  lock_tx.exec("SELECT 1 FROM dobj.objects WHERE class = 'Counter' AND id = 'gate' FOR UPDATE");

  std::atomic<bool> replied{false};
  Value reply_value;
  std::thread caller([&] {
    auto r = raw_call(nats, "obj.Counter.gate.inc", "", "", 30s);
    reply_value = r.body;
    replied = true;
  });
  // The worker's commit is now waiting for our row lock (its fencing UPDATE)...
  ASSERT_GT(stack_.wait_for_lock_waiter(20s), 0);
  // ...and while it waits, neither the reply nor the write exists.
  EXPECT_FALSE(replied);
  EXPECT_EQ(scalar("SELECT version FROM dobj.objects WHERE id = 'gate'"), 1);
  lock_tx.abort();
  ASSERT_TRUE(wait_until([&] { return replied.load(); }, 20s));
  caller.join();
  EXPECT_EQ(reply_value, 2);
  EXPECT_EQ(scalar("SELECT version FROM dobj.objects WHERE id = 'gate'"), 2);
}

TEST_F(WorkerTest, EventsAreDeliveredAfterTheCommit) {
  stack_.start_worker();
  NatsConnection nats(client_options());
  std::mutex mutex;
  std::vector<NatsMessage> events;
  auto sub = nats.subscribe("evt.ChatRoom.ev.>", [&](natsMsg* m) {
    std::lock_guard lock(mutex);
    events.push_back(NatsMessage::from(m));
    natsMsg_Destroy(m);
  });
  nats.flush(2s);
  Client client(nats);
  EXPECT_EQ(client.call("ChatRoom", "ev", "post", {{"user", "ada"}, {"text", "hi"}}),
            Value({{"seq", 1}}));
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return !events.empty();
      },
      10s));
  std::lock_guard lock(mutex);
  EXPECT_EQ(events[0].subject, "evt.ChatRoom.ev.message");
  EXPECT_EQ(Value::parse(events[0].body), Value({{"seq", 1}, {"user", "ada"}, {"text", "hi"}}));
  EXPECT_EQ(events[0].header("Content-Type"), "application/json");
}

TEST_F(WorkerTest, SigtermDrainsAndReleasesEveryLease) {
  auto& worker = stack_.start_worker();
  NatsConnection nats(client_options());
  Client client(nats);
  for (int i = 0; i < 20; ++i) client.call("Counter", "t" + std::to_string(i), "inc", nullptr);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL"), 20);
  worker.process().signal(SIGTERM);
  auto status = worker.process().wait(20s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE owner IS NOT NULL"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.partitions WHERE owner IS NOT NULL"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.workers WHERE live"), 0);
  EXPECT_EQ(scalar("SELECT sum(version) FROM dobj.objects"), 20);
}

// dobj_admin.classes and `dobj classes` show what live workers host, from their registration;
// a stopped worker's classes are gone with it.
TEST_F(WorkerTest, ClassesListsTheClassesAndMethodsLiveWorkersHost) {
  auto& worker = stack_.start_worker();
  std::string out;
  int rc = run_command({cli_binary(), "--db", stack_.database_url(), "classes", "--json"}, &out);
  ASSERT_EQ(rc, 0) << out;
  auto listed = Value::parse(out.substr(0, out.rfind(']') + 1));
  std::map<std::string, Value> by_class;
  for (const auto& c : listed) by_class[c["class"]] = c;
  ASSERT_TRUE(by_class.count("Counter")) << out;
  // No $result: continuations are not methods.
  EXPECT_EQ(by_class["Counter"]["methods"], Value({"add_from", "get", "inc", "reset"}));
  EXPECT_EQ(by_class["Lock"]["methods"], Value({"acquire", "holder", "release"}));  // no $alarm
  EXPECT_EQ(by_class["Counter"]["workers"].size(), 1u);
  EXPECT_TRUE(by_class["Counter"]["same_methods"].get<bool>());
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.classes WHERE class = 'Scratch'"), 1);

  rc = run_command({cli_binary(), "--db", stack_.database_url(), "classes"}, &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("get inc reset"), std::string::npos) << out;

  worker.process().signal(SIGTERM);
  ASSERT_TRUE(worker.process().wait(20s));
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.classes"), 0);
}

TEST_F(WorkerTest, IdleObjectsAreEvictedAndTheirLeaseReleased) {
  stack_.start_worker({"--idle-timeout-ms", "200"});
  NatsConnection nats(client_options());
  Client client(nats);
  client.call("Counter", "idle", "inc", nullptr);
  EXPECT_TRUE(wait_until(
      [&] { return scalar("SELECT count(*) FROM dobj.objects WHERE owner IS NULL") == 1; }, 20s));
  // It comes back on the next message, at a new epoch, with its state.
  EXPECT_EQ(client.call("Counter", "idle", "inc", nullptr), 2);
  EXPECT_EQ(scalar("SELECT epoch FROM dobj.objects WHERE id = 'idle'"), 2);
}

TEST_F(WorkerTest, RefusesToStartWhenTheNatsMappingDisagreesWithTheDatabase) {
  auto url = PostgresServer::shared().create_database(false);
  {
    auto conn = store::connect(url);
    store::MigrationRunner(*conn).migrate(128);  // nats.conf maps to 256
  }
  WorkerProcess worker(stack_.nats().service_url(), url, {}, stack_.temp_dir() + "/bad.log");
  auto status = worker.process().wait(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(worker.log().find("partition mapping disagrees"), std::string::npos) << worker.log();
}

TEST_F(WorkerTest, RefusesToStartOnAnUnmigratedDatabase) {
  auto url = PostgresServer::shared().create_database(false);
  WorkerProcess worker(stack_.nats().service_url(), url, {}, stack_.temp_dir() + "/bad.log");
  auto status = worker.process().wait(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(worker.log().find("dobj migrate"), std::string::npos) << worker.log();
}

}  // namespace
}  // namespace dobj::testing
