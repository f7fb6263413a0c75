// Hostile clients with the shipped NATS configuration (issue "Wave 2 · 2/8"): what a client may
// make a worker do with its service rights.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>

#include "dobj/client/client.hpp"
#include "dobj/core/redact.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/test_stack.hpp"
#include "wire.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

class SecurityTest : public ::testing::Test {
 protected:
  // The test's stack, started on first use with the local profile (deploy/nats/dobj-auth.conf)
  // or, through production(), with deploy/nats/production: a user per application and service.
  TestStack& stack() {
    if (!stack_) stack_ = std::make_unique<TestStack>();
    return *stack_;
  }
  TestStack& production() {
    if (!stack_) stack_ = std::make_unique<TestStack>(NatsServer::Profile::kProduction);
    return *stack_;
  }
  NatsConnection::Options client_options() {
    return {stack().nats().client_url(), "hostile-client", true};
  }
  // An application of the production profile, with its inbox prefix (empty: _INBOX).
  NatsConnection::Options app(const std::string& user, const std::string& password,
                              const std::string& inbox_prefix) {
    NatsConnection::Options options{production().nats().user_url(user, password), user, true};
    options.inbox_prefix = inbox_prefix;
    return options;
  }
  NatsConnection::Options chat_app() { return app("chat-app", "chat-app-dev", "_INBOX.chat-app"); }
  NatsConnection::Options ops() { return app("ops", "ops-dev", "_INBOX.ops"); }

  // Waits for the server to refuse something of this connection (it answers with an -ERR).
  static bool refused(NatsConnection& nats, std::uint64_t before) {
    return wait_until([&] { return nats.permission_errors().first > before; }, 5s);
  }

 private:
  std::unique_ptr<TestStack> stack_;
};

// A request naming an event subject, an object subject or an internal subject as its reply would
// make the worker publish there with its own rights (a spoofed event, a forged call). It is
// refused unrun; only client inboxes get replies.
TEST_F(SecurityTest, AReplySubjectOutsideTheClientInboxesIsRefusedUnrun) {
  stack().start_worker();
  NatsConnection nats(client_options());
  std::atomic<int> events{0};
  auto watch = nats.subscribe("evt.>", [&](natsMsg* m) {
    ++events;
    natsMsg_Destroy(m);
  });
  nats.flush(5s);
  for (const char* reply : {"evt.ChatRoom.spoofed.message", "obj.Counter.victim.inc",
                            "dobj.in.7.Counter.victim.$alarm", "_DOBJ_TIMER.1.5", "_INBOX"}) {
    nats.publish("obj.Counter.target.inc", R"({"by": 1})", {}, reply);
  }
  // Messages of one connection reach the worker's shard for one object in order: when this
  // request is answered, the five above have been dispatched (and refused, or run before it).
  auto reply = raw_call(nats, "obj.Counter.target.inc", R"({"by": 1})");
  EXPECT_EQ(error_code(reply), "");
  EXPECT_EQ(reply.body, 1) << "a request with a forbidden reply subject ran";
  // A spoofed event would have been published before that reply, on the worker's one connection.
  nats.flush(5s);
  EXPECT_EQ(events.load(), 0);
  EXPECT_EQ(raw_call(nats, "obj.Counter.victim.get", "").body, 0);
  // Fire-and-forget (no reply subject) still runs.
  nats.publish("obj.Counter.target.inc", R"({"by": 1})");
  EXPECT_EQ(raw_call(nats, "obj.Counter.target.get", "").body, 2);
}

// --reply-prefix is repeatable: each one given is a client inbox (the worker's other flags take
// their last value when given twice; this one keeps them all).
TEST_F(SecurityTest, EveryReplyPrefixGivenIsAnInboxAndOnlyThose) {
  stack().start_worker({"--reply-prefix", "_INBOX.one.", "--reply-prefix", "_INBOX.two."});
  for (const char* prefix : {"_INBOX.one", "_INBOX.two"}) {
    auto options = client_options();
    options.inbox_prefix = prefix;
    NatsConnection nats(options);
    auto reply = raw_call(nats, "obj.Counter.prefixed.inc", R"({"by": 1})");
    EXPECT_EQ(error_code(reply), "") << prefix;
  }
  // The default, _INBOX., is not among them any more: its requests are refused unrun.
  NatsConnection plain(client_options());
  plain.publish("obj.Counter.prefixed.inc", R"({"by": 1})", {}, "_INBOX.plain.1");
  plain.flush(5s);
  auto options = client_options();
  options.inbox_prefix = "_INBOX.two";
  NatsConnection nats(options);
  EXPECT_EQ(raw_call(nats, "obj.Counter.prefixed.get", "").body, 2);
}

// Sends every request at once (so that they share commit batches) and collects each one's
// error code ("" for ok), keyed by the request's name.
struct Request {
  std::string name, subject, body;
  std::map<std::string, std::string> headers{};
};

std::map<std::string, std::string> send_together(NatsConnection& nats,
                                                 const std::vector<Request>& requests) {
  std::mutex mutex;
  std::map<std::string, std::string> codes;
  const std::string prefix = "_INBOX.together.";
  auto inbox = nats.subscribe(prefix + ">", [&](natsMsg* m) {
    auto msg = NatsMessage::from(m);
    natsMsg_Destroy(m);
    std::string code;
    if (msg.header(protocol::kStatusHeader).value_or("") == protocol::kStatusError) {
      auto body = protocol::decode_body(
          protocol::content_type_from_header(msg.header(protocol::kContentTypeHeader)), msg.body);
      code = body["error"].value("code", "?");
    }
    std::lock_guard lock(mutex);
    codes[msg.subject.substr(prefix.size())] = code;
  });
  nats.flush(5s);
  for (const auto& r : requests) nats.publish(r.subject, r.body, r.headers, prefix + r.name);
  EXPECT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return codes.size() == requests.size();
      },
      30s))
      << codes.size() << " of " << requests.size() << " answered";
  std::lock_guard lock(mutex);
  return codes;
}

constexpr int kNeighbours = 100;

// kNeighbours increments of distinct counters, named n0, n1, …
std::vector<Request> neighbours() {
  std::vector<Request> out;
  for (int i = 0; i < kNeighbours; ++i) {
    out.push_back(
        {"n" + std::to_string(i), "obj.Counter.neighbour" + std::to_string(i) + ".inc", ""});
  }
  return out;
}

int succeeded_neighbours(std::map<std::string, std::string>& codes) {
  int ok = 0;
  for (int i = 0; i < kNeighbours; ++i) ok += codes["n" + std::to_string(i)] == "";
  return ok;
}

// Every bad input gets its documented error (schemas/protocol.md, "Limits"), decided before
// anything runs, while its neighbours in the same commit batches all succeed. Text PostgreSQL
// cannot store (a NUL, invalid UTF-8) used to fail the whole batch with storage_error.
TEST_F(SecurityTest, BadInputHurtsOnlyItsOwnRequest) {
  stack().start_worker();
  NatsConnection nats(client_options());
  const std::string msgpack_bad_utf8("\x81\xa4user\xa2\xc3\x28", 8);  // {"user": "\xc3\x28"}
  auto requests = neighbours();
  requests.push_back({"nul", "obj.ChatRoom.room-nul.join", R"({"user": "a\u0000b"})"});
  requests.push_back({"utf8",
                      "obj.ChatRoom.room-utf8.join",
                      msgpack_bad_utf8,
                      {{protocol::kContentTypeHeader, protocol::kMsgpackContentType}}});
  requests.push_back(
      {"key", "obj.Counter.idem.inc", "", {{protocol::kIdempotencyKeyHeader, "k\xff"}}});
  requests.push_back(
      {"sql", "obj.Scratch.sql-nul.sql", R"({"query": "SELECT $1::text", "params": ["a\u0000"]})"});
  requests.push_back({"headers",
                      "obj.Counter.big-headers.inc",
                      "",
                      {{"X-Padding", std::string(protocol::kMaxHeaderBytes, 'h')}}});
  requests.push_back(
      {"body", "obj.Counter.big-body.inc", std::string(protocol::kDefaultMaxBodyBytes + 1, ' ')});
  requests.push_back({"count",
                      "obj.ChatRoom.room-count.join",
                      std::string("\xdd\xff\xff\xff\xff", 5),
                      {{protocol::kContentTypeHeader, protocol::kMsgpackContentType}}});
  requests.push_back({"deep", "obj.ChatRoom.room-deep.join",
                      std::string(protocol::kMaxJsonDepth + 1, '[') +
                          std::string(protocol::kMaxJsonDepth + 1, ']')});
  requests.push_back({"json", "obj.ChatRoom.room-json.join", "{\"user\": "});
  requests.push_back(
      {"type", "obj.ChatRoom.room-type.join", "{}", {{protocol::kContentTypeHeader, "text/html"}}});
  requests.push_back(
      {"timeout", "obj.Counter.timeout.inc", "", {{protocol::kTimeoutHeader, "soon"}}});
  auto codes = send_together(nats, requests);
  EXPECT_EQ(codes["headers"], "too_large");
  EXPECT_EQ(codes["body"], "too_large");
  EXPECT_EQ(codes["count"], "bad_request");
  EXPECT_EQ(codes["deep"], "bad_request");
  EXPECT_EQ(codes["json"], "bad_request");
  EXPECT_EQ(codes["type"], "bad_request");
  EXPECT_EQ(codes["timeout"], "bad_request");
  EXPECT_EQ(codes["nul"], "bad_request");
  EXPECT_EQ(codes["utf8"], "bad_request");
  EXPECT_EQ(codes["key"], "bad_request");
  EXPECT_EQ(codes["sql"], "bad_request");
  EXPECT_EQ(succeeded_neighbours(codes), kNeighbours);
}

// What the database refuses at commit time hurts only the object it belongs to: a deferred
// constraint broken by a turn's SQL fails that turn; an object whose writes the database refuses
// (a trigger stands for any such data) is left out of the batch's commit, the rest commits.
TEST_F(SecurityTest, WhatTheDatabaseRefusesHurtsOnlyItsObject) {
  stack().start_worker();
  PostgresServer::poison_commits(stack().database_url());
  NatsConnection nats(client_options());
  Client client(nats);
  client.call("Scratch", "deferred", "sql",
              {{"query", "CREATE TABLE t (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)"}});
  auto requests = neighbours();
  requests.push_back({"poison", "obj.Counter.poison-1.inc", ""});
  requests.push_back({"deferred", "obj.Scratch.deferred.sql",
                      R"json({"query": "INSERT INTO t VALUES (1), (1)"})json"});
  for (int i = 0; i < 5; ++i) {
    requests.push_back({"sql" + std::to_string(i), "obj.Scratch.sql" + std::to_string(i) + ".sql",
                        R"json({"query": "CREATE TABLE IF NOT EXISTS mine (k int)"})json"});
  }
  auto codes = send_together(nats, requests);
  EXPECT_EQ(codes["poison"], "storage_error");
  EXPECT_EQ(codes["deferred"], "handler_error") << stack().worker_logs();
  for (int j = 0; j < 5; ++j) EXPECT_EQ(codes["sql" + std::to_string(j)], "") << j;
  EXPECT_EQ(succeeded_neighbours(codes), kNeighbours);
  EXPECT_EQ(client.call("Scratch", "deferred", "sql", {{"query", "SELECT count(*) AS n FROM t"}})
                .at(0)["n"],
            0);
  EXPECT_EQ(client.call("Counter", "neighbour7", "get", {}), 1);
}

// Scanning 100,000 random ids with reads leaves the database as it was once the objects are
// evicted: no object rows, no schemas. Sent in waves so that the worker's queues never refuse
// (every read must really run: overloaded answers would prove nothing).
TEST_F(SecurityTest, AScanOfRandomIdsLeavesTheDatabaseAsItWas) {
  stack().start_worker({"--idle-timeout-ms", "200"});
  // Ready schemas of the pool (filled in the background meanwhile) are nobody's yet; one that an
  // object took, or one created for an object, counts.
  auto schemas = [&] {
    return stack().query_int(
        "SELECT count(*) FROM pg_namespace n "
        "WHERE NOT EXISTS (SELECT 1 FROM dobj.schema_pool p WHERE p.name = n.nspname)");
  };
  const auto schemas_before = schemas();
  NatsConnection nats(client_options());
  constexpr int kIds = 30'000;
  constexpr int kWave = 5'000;
  std::atomic<int> answered{0}, ok{0};
  auto inbox = nats.subscribe("_INBOX.scan.>", [&](natsMsg* m) {
    auto msg = NatsMessage::from(m);
    natsMsg_Destroy(m);
    ok += msg.header(protocol::kStatusHeader).value_or("") != protocol::kStatusError;
    ++answered;
  });
  nats.flush(5s);
  std::mt19937_64 rng(7);
  for (int sent = 0; sent < kIds; sent += kWave) {
    for (int i = 0; i < kWave; ++i) {
      nats.publish("obj.Counter.scan-" + std::to_string(rng()) + ".get", "", {}, "_INBOX.scan.r");
    }
    ASSERT_TRUE(wait_until([&] { return answered == sent + kWave; }, 60s))
        << answered << " answered of " << sent + kWave;
  }
  EXPECT_EQ(ok.load(), kIds);
  EXPECT_TRUE(
      wait_until([&] { return stack().query_int("SELECT count(*) FROM dobj.objects") == 0; }, 30s))
      << stack().query_int("SELECT count(*) FROM dobj.objects") << " rows left";
  EXPECT_EQ(schemas(), schemas_before);
}

// Each application reads only its own replies: its user may subscribe only under its own inbox
// prefix, and the server refuses anything else with a permissions error.
TEST_F(SecurityTest, AnApplicationReadsOnlyItsOwnReplies) {
  production().start_worker();
  NatsConnection chat(chat_app());
  NatsConnection ops_app(ops());
  Client chat_client(chat), ops_client(ops_app);
  EXPECT_EQ(chat_client.call("ChatRoom", "lobby", "join", {{"user", "ann"}})["members"], 1);

  // chat-app listens where ops' replies arrive (and where everybody's would): refused.
  std::atomic<int> overheard{0};
  std::vector<NatsSubscription> spies;
  for (const char* spy : {"_INBOX.ops.>", "_INBOX.>", ">", "_DOBJ_TIMER.>"}) {
    auto before = chat.permission_errors().first;
    spies.push_back(chat.subscribe(spy, [&](natsMsg* m) {
      ++overheard;
      natsMsg_Destroy(m);
    }));
    EXPECT_TRUE(refused(chat, before)) << spy;
    EXPECT_NE(chat.permission_errors().second.find("Permissions Violation for Subscription"),
              std::string::npos)
        << chat.permission_errors().second;
  }
  auto history = ops_client.call("ChatRoom", "lobby", "history", {});
  EXPECT_TRUE(history.is_array()) << history.dump();
  chat.flush(5s);
  EXPECT_EQ(overheard.load(), 0);

  // Without its own prefix an application cannot even receive its replies.
  auto plain_options = chat_app();
  plain_options.inbox_prefix.clear();
  NatsConnection plain(plain_options);
  Client plain_client(plain);
  EXPECT_THROW(plain_client.call("ChatRoom", "lobby", "history", {}, {.timeout = 2s}),
               NotPermittedError);

  // And nobody gets in without a user.
  EXPECT_THROW(NatsConnection({production().nats().client_url(), "anonymous", true}),
               TransportError);
}

// Which classes and methods an application may call is its NATS user's publish permissions: no
// dobj code decides it. chat-app has ChatRoom only; ops has a list of read-only methods.
TEST_F(SecurityTest, ClassesAndMethodsAreGrantedByNatsPermissions) {
  production().start_worker();
  NatsConnection chat(chat_app());
  NatsConnection ops_app(ops());
  Client chat_client(chat), ops_client(ops_app);
  CallOptions quick{.timeout = 1s, .max_attempts = 1};

  EXPECT_THROW(
      chat_client.call("Lock", "door", "acquire", {{"owner", "eve"}, {"ttl_ms", 60000}}, quick),
      NotPermittedError);
  // Nor through the mapped subject, nor the timers' system method.
  auto before = chat.permission_errors().first;
  chat.publish(protocol::inbound_subject(protocol::partition_of("Lock", "door", 256), "Lock",
                                         "door", "acquire"),
               R"({"owner": "eve", "ttl_ms": 60000})");
  EXPECT_TRUE(refused(chat, before));
  EXPECT_THROW(chat_client.call("ChatRoom", "lobby", "$alarm", {{"due_at_us", 1}}, quick),
               std::exception);  // a bad_request (system method) or refused, never run
  before = chat.permission_errors().first;
  chat.publish("obj.ChatRoom.lobby.$alarm", R"({"due_at_us": 1})");
  EXPECT_TRUE(refused(chat, before));

  EXPECT_TRUE(ops_client.call("Lock", "door", "holder", {})["holder"].is_null());
  EXPECT_EQ(ops_client.call("Counter", "visits", "get", {}), 0);
  EXPECT_THROW(ops_client.call("Counter", "visits", "inc", {}, quick), NotPermittedError);
  EXPECT_THROW(
      ops_client.call("ChatRoom", "lobby", "post", {{"user", "ops"}, {"text", "hi"}}, quick),
      NotPermittedError);
  EXPECT_EQ(ops_client.call("Counter", "visits", "get", {}), 0);
  // Nothing that was refused ran: no Lock or Counter ever stored anything.
  EXPECT_EQ(production().query_int("SELECT count(*) FROM dobj.objects WHERE class IN ('Lock', "
                                   "'Counter') AND version > 0"),
            0);
}

// The service users may do what workers and timers need and nothing else; alarms still go from
// the timer to the worker and back in this profile.
TEST_F(SecurityTest, ServiceUsersHaveOnlyWhatTheyNeed) {
  production().start_worker();
  production().start_timer();
  for (const auto& url : {production().nats().service_url(), production().nats().timer_url()}) {
    NatsConnection service({url, "service", true});
    auto before = service.permission_errors().first;
    service.publish("obj.Counter.c.inc", "");
    // Workers deliver ctx.send messages to any object (dobj.in.>, which nats-server 2.9 also
    // matches against a mapped obj.… publish); the timer reaches $alarm only.
    if (url == production().nats().timer_url()) {
      EXPECT_TRUE(refused(service, before)) << redact(url);
    }
    before = service.permission_errors().first;
    auto spy = service.subscribe("_INBOX.>", [](natsMsg* m) { natsMsg_Destroy(m); });
    EXPECT_TRUE(refused(service, before)) << redact(url);
    before = service.permission_errors().first;
    service.publish("evt.ChatRoom.lobby.message", "{}");
    if (url == production().nats().timer_url()) {
      EXPECT_TRUE(refused(service, before));
    }
  }
  // An alarm of an object without an alarm handler: the timer fires it at the worker and records
  // the worker's answer, so both legs work with these permissions.
  NatsConnection chat(chat_app());
  Client(chat).call("ChatRoom", "alarmed", "join", {{"user", "ann"}});
  production().query_int(
      "INSERT INTO dobj.alarms (class, id, due_at) VALUES ('ChatRoom', 'alarmed', now()) "
      "RETURNING 1");
  EXPECT_TRUE(wait_until(
      [&] {
        return production().query_int("SELECT retry_count FROM dobj.alarms WHERE id = 'alarmed'") >=
                   1 ||
               production().query_int(
                   "SELECT count(*) FROM dobj.dead_alarms WHERE id = 'alarmed'") > 0;
      },
      30s));
}

// Workers and timers log in with dobj_service's rights, and handler SQL runs as dobj_handler:
// the control tables are out of its reach, and it cannot change its role to get at them.
TEST_F(SecurityTest, HandlerSqlCannotTouchTheControlTables) {
  stack().start_worker();
  stack().start_timer();
  NatsConnection nats(client_options());
  Client client(nats);
  auto sql = [&](const std::string& query) {
    try {
      client.call("Scratch", "intruder", "sql", {{"query", query}}, {.max_attempts = 1});
      return std::string("ran");
    } catch (const Error& e) {
      return std::string(to_string(e.code())) + ": " + e.what();
    }
  };
  EXPECT_EQ(sql("CREATE TABLE mine (k int)"), "ran");
  for (const char* attack :
       {"DELETE FROM dobj.objects", "UPDATE dobj.workers SET lease_until = now()",
        "SELECT * FROM dobj.idempotency",
        "INSERT INTO dobj.alarms (class, id, due_at) "
        "VALUES ('Counter', 'x', now())",
        "SET ROLE dobj_service", "RESET ROLE", "SELECT set_config('role', 'none', true)",
        "DO $$ BEGIN DELETE FROM dobj.objects; END $$"}) {
    auto result = sql(attack);
    EXPECT_EQ(result.rfind("handler_error", 0), 0u) << attack << ": " << result;
  }
  // Through a function of its own (dynamic SQL hides set_config from the statement check): the
  // turn ends in another role, so everything it did is rolled back.
  EXPECT_EQ(sql("CREATE FUNCTION escape() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
                "EXECUTE 'SELECT set_' || 'config(''role'', ''none'', true)'; "
                "INSERT INTO mine VALUES (1); END $$"),
            "ran");
  auto escaped = sql("SELECT escape()");
  EXPECT_NE(escaped.find("rolled back"), std::string::npos) << escaped;
  EXPECT_EQ(client.call("Scratch", "intruder", "sql", {{"query", "SELECT count(*) AS n FROM mine"}})
                .at(0)["n"],
            0);
  EXPECT_GT(stack().query_int("SELECT count(*) FROM dobj.objects"), 0);
  // Nobody of dobj's own logs in as a superuser.
  EXPECT_EQ(stack().query_int("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                              "current_database() AND usename <> 'dobj_worker' "
                              "AND pid <> pg_backend_pid()"),
            0);
  EXPECT_GE(stack().query_int("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                              "current_database() AND usename = 'dobj_worker'"),
            2);
  EXPECT_EQ(stack().query_int("SELECT count(*) FROM pg_roles WHERE rolname = 'dobj_worker' "
                              "AND (rolsuper OR rolcreaterole OR rolcreatedb)"),
            0);
}

// The shipped dobj-worker hosts the examples only: classes that run SQL or storage operations
// from the wire (Scratch, Ledger) exist in dobj-test-worker alone.
TEST_F(SecurityTest, TheShippedWorkerHasNoTestClasses) {
  ServiceProcess worker({production_worker_binary()}, stack().nats().service_url(),
                        stack().service_database_url(), stack().temp_dir() + "/shipped.log");
  ASSERT_TRUE(worker.wait_serving(30s)) << worker.log();
  NatsConnection nats(client_options());
  Client client(nats);
  EXPECT_EQ(client.call("Counter", "shipped", "inc", {}), 1);
  for (const char* test_class : {"Scratch", "ScratchEager", "Ledger"}) {
    try {
      client.call(test_class, "x", "sql", {{"query", "SELECT 1"}}, {.max_attempts = 1});
      ADD_FAILURE() << test_class << " is hosted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNoSuchClass) << test_class;
    }
  }
}

}  // namespace
}  // namespace dobj::testing
