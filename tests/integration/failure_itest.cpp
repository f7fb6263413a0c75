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
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class FailureTest : public ::testing::Test {
 protected:
  NatsConnection::Options client_options() {
    return {stack_.nats().client_url(), "test-client", true};
  }
  std::int64_t scalar(const std::string& sql) { return stack_.query_int(sql); }
  bool object_claimed(const std::string& cls, const std::string& id) {
    return scalar("SELECT count(*) FROM dobj.objects WHERE class = '" + cls + "' AND id = '" + id +
                  "' AND owner IS NOT NULL") == 1;
  }
  // Starts Scratch.spin on `id` for a minute, without waiting for its (never coming) reply.
  std::future<void> start_spinning(const std::string& id) {
    auto future = std::async(std::launch::async, [this, id] {
      NatsConnection nats(client_options());
      try {
        nats.request("obj.Scratch." + id + ".spin", R"({"ms": 60000})", {}, 3s);
      } catch (const std::exception&) {
        // no reply: the worker gave the shard up
      }
    });
    EXPECT_TRUE(wait_until([&] { return object_claimed("Scratch", id); }, 20s));
    return future;
  }

  TestStack stack_;
};

// A handler that never returns: what waits behind it is answered `moved` (never run there), the
// worker hands everything else over and exits 4, and the stuck object is served elsewhere.
TEST_F(FailureTest, AStuckTurnMakesTheWorkerGiveUpAndTheObjectIsServedElsewhere) {
  auto& stuck = stack_.start_worker({"--max-turn-ms", "1000"});
  NatsConnection nats(client_options());
  Client client(nats);
  ASSERT_EQ(client.call("Counter", "elsewhere", "inc", nullptr, {}), 1);
  auto spinning = start_spinning("spinner");
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
  auto spinning = start_spinning("sigterm");
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

}  // namespace
}  // namespace dobj::testing
