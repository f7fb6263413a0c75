// Storage shards end to end (issue 18): a control database and a shard database, the shard map
// written by `dobj shards add`, one worker per storage location, the timer on both, real
// nats-server and PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <set>

#include "dobj/core/error.hpp"
#include "dobj/core/stop_signals.hpp"
#include "dobj/core/value.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/store/database.hpp"
#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/process.hpp"
#include "dobj/testing/stack_test.hpp"

namespace dobj::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 256;
constexpr int kObjects = 40;

class StorageShardTest : public StackTest {
 protected:
  void SetUp() override {
    shard_url_ = PostgresServer::shared().create_database(false);
    ASSERT_EQ(cli({"shards", "add", "s1", "--partitions", "0-127", "--url",
                   PostgresServer::service_url(shard_url_), "--admin-url", shard_url_}),
              0)
        << output_;
    ASSERT_NE(output_.find("views in the control database show storage shard s1"),
              std::string::npos)
        << output_;
  }
  int cli(std::vector<std::string> args) {
    args.insert(args.begin(), {cli_binary(), "--db", stack_.database_url()});
    return run_command(args, &output_);
  }
  std::int64_t on_shard(const std::string& sql) {
    auto conn = store::connect(shard_url_);
    pqxx::nontransaction tx(*conn);
    auto row = tx.exec1(sql);
    return row[0].is_null() ? -1 : row[0].as<std::int64_t>();
  }
  static bool in_shard(const std::string& id) {
    return protocol::partition_of("Counter", id, kPartitions) <= 127;
  }
  std::map<std::string, std::int64_t> count_everywhere(int times) {
    std::map<std::string, std::int64_t> last;
    for (int t = 0; t < times; ++t) {
      for (int i = 0; i < kObjects; ++i) {
        auto id = "c" + std::to_string(i);
        try {
          last[id] = call("Counter", id, "inc", {{"by", 1}}).get<std::int64_t>();
        } catch (const std::exception& e) {
          ADD_FAILURE() << id << ": " << e.what() << "\n" << stack_.worker_logs();
          throw;
        }
      }
    }
    return last;
  }

  // Waits until the object answers `method` with `expected` (its partition is served again).
  bool answers(const std::string& class_name, const std::string& id, const std::string& method,
               const Value& argument, const Value& expected) {
    return wait_until(
        [&] {
          try {
            return call(class_name, id, method, argument) == expected;
          } catch (const Error&) {
            return false;
          }
        },
        20s, 100ms);
  }

  // Whether `database_url`'s database turns every connection away at once (its sessions ended).
  static void refuse_connections(const std::string& database_url, bool refuse) {
    auto name = database_url.substr(database_url.rfind('/') + 1);
    auto admin = store::connect(PostgresServer::shared().url("postgres"));
    pqxx::nontransaction tx(*admin);
    tx.exec0("ALTER DATABASE " + tx.quote_name(name) + " ALLOW_CONNECTIONS " +
             (refuse ? "false" : "true"));
    if (refuse) {
      tx.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                     name);
    }
  }

  std::string shard_url_;
  std::string output_;
};

TEST_F(StorageShardTest, EachObjectLivesInItsPartitionsDatabaseAndSurvivesItsWorker) {
  auto& shard_worker = stack_.start_worker({"--storage-shard", "s1"});
  stack_.start_worker();
  auto values = count_everywhere(2);
  int sharded = 0;
  for (const auto& [id, value] : values) {
    EXPECT_EQ(value, 2) << id;
    sharded += in_shard(id);
  }
  ASSERT_GT(sharded, 0);
  ASSERT_LT(sharded, kObjects);
  // Each object's row, lease and schema are in its own partition's database only.
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.objects WHERE p <= 127"), sharded);
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.objects WHERE p > 127"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE p > 127"), kObjects - sharded);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects WHERE p <= 127"), 0);
  EXPECT_EQ(on_shard("SELECT count(DISTINCT o.schema_name) FROM dobj.objects o "
                     "JOIN pg_namespace n ON n.nspname = o.schema_name"),
            sharded);
  // The shard's partitions are its worker's, mirrored there with the control database's epochs.
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.partitions p JOIN dobj.workers w ON w.id = p.owner "
                     "WHERE w.lease_until > now()"),
            128);

  ASSERT_EQ(cli({"shards", "--json"}), 0) << output_;
  auto listed = Value::parse(output_);
  ASSERT_EQ(listed.size(), 2u) << output_;
  EXPECT_EQ(listed[0]["control"], true);
  EXPECT_EQ(listed[0]["partitions"], 128);
  EXPECT_EQ(listed[0]["objects"], kObjects - sharded);
  EXPECT_EQ(listed[1]["name"], "s1");
  ASSERT_EQ(listed[1]["ranges"].size(), 1u) << output_;
  EXPECT_EQ(listed[1]["ranges"][0]["first_partition"], 0);
  EXPECT_EQ(listed[1]["ranges"][0]["last_partition"], 127);
  EXPECT_EQ(listed[1]["partitions"], 128);
  EXPECT_EQ(listed[1]["objects"], sharded);
  EXPECT_EQ(listed[1]["live_workers"], 1);
  EXPECT_EQ(listed[1]["url"].get<std::string>().find("dobj-dev"), std::string::npos)
      << "the password is shown: " << output_;

  // The control database's admin views show every object with where it lives, and kv() reads
  // a sharded object's keys from its shard, for dobj_reader too.
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.objects WHERE shard = 's1'"), sharded);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj_admin.objects WHERE shard = 'control'"),
            kObjects - sharded);
  // dobj_admin.workers counts each worker's objects where they live, for dobj_reader too.
  EXPECT_EQ(scalar("SELECT active_objects FROM dobj_admin.workers w JOIN dobj.workers d "
                   "USING (id) WHERE w.live AND d.storage_shard = 's1'"),
            sharded);
  EXPECT_EQ(scalar("SET ROLE dobj_reader; SELECT sum(active_objects) FROM dobj_admin.workers "
                   "WHERE live"),
            kObjects);
  std::string sharded_id;
  for (const auto& [id, value] : values) {
    if (in_shard(id)) sharded_id = id;
  }
  EXPECT_EQ(scalar("SET ROLE dobj_reader; SELECT count(*) FROM dobj_admin.kv('Counter', '" +
                   sharded_id + "') WHERE value = '2'::jsonb"),
            1);
  ASSERT_EQ(cli({"inspect", "Counter", sharded_id, "--json"}), 0) << output_;
  auto inspected = Value::parse(output_);
  EXPECT_EQ(inspected["shard"], "s1") << output_;
  EXPECT_EQ(inspected["keys"].size(), 1u) << output_;
  ASSERT_EQ(cli({"ls", "--json"}), 0) << output_;
  EXPECT_EQ(Value::parse(output_).size(), static_cast<std::size_t>(kObjects)) << output_;

  // The shard's worker dies; its successor of the same shard serves every object on, nothing
  // counted is lost.
  shard_worker.process().signal(SIGKILL);
  ASSERT_TRUE(shard_worker.process().wait(10s));
  stack_.start_worker({"--storage-shard", "s1"});
  // Served again once the dead worker's lease has run out (reads only, until then).
  ASSERT_TRUE(answers("Counter", sharded_id, "get", nullptr, 2)) << stack_.worker_logs();
  values = count_everywhere(1);
  for (const auto& [id, value] : values) EXPECT_EQ(value, 3) << id;
}

// `dobj shards set-url` while the shard's worker serves: every one of the worker's sessions on the
// shard moves to the new URL without a restart (they carry its application_name), and every
// object counts on. A map entry that leads to another database (written past the CLI's check) is
// refused by the worker, which stays where it is.
TEST_F(StorageShardTest, AShardsWorkerFollowsItsNewUrlWithoutARestart) {
  auto& worker = stack_.start_worker({"--storage-shard", "s1", "--map-poll-ms", "100"});
  stack_.start_worker();
  auto before = count_everywhere(1);
  auto worker_sessions = [&](const std::string& application) {
    return on_shard(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = '" +
        std::string(PostgresServer::kServiceUser) + "' AND application_name = '" + application +
        "'");
  };
  ASSERT_GT(worker_sessions(""), 0);
  ASSERT_EQ(cli({"shards", "set-url", "s1",
                 PostgresServer::service_url(shard_url_) + "?application_name=s1-moved",
                 "--admin-url", shard_url_}),
            0)
      << output_;
  // The executor shards move at their next iteration, the other loops at their next step.
  ASSERT_TRUE(
      wait_until([&] { return worker_sessions("") == 0 && worker_sessions("s1-moved") > 0; }, 20s))
      << worker_sessions("") << " sessions left on the old URL\n"
      << worker.log();
  EXPECT_NE(worker.log().find("storage shard s1 is reached by a new URL"), std::string::npos);
  auto after = count_everywhere(1);
  for (const auto& [id, value] : after) EXPECT_EQ(value, before[id] + 1) << id;

  scalar("UPDATE dobj.storage_databases SET url = '" + stack_.service_database_url() +
         "' WHERE name = 's1' RETURNING 1");
  ASSERT_TRUE(wait_until(
      [&] { return worker.log().find("which this worker refuses") != std::string::npos; }, 20s))
      << worker.log();
  after = count_everywhere(1);
  for (const auto& [id, value] : after) EXPECT_EQ(value, before[id] + 2) << id;
  EXPECT_EQ(worker_sessions(""), 0);
  EXPECT_GT(worker_sessions("s1-moved"), 0);
}

// One timer process fires the alarms of every database, a shard added after it started too.
TEST_F(StorageShardTest, TheTimerFiresAlarmsStoredInEveryDatabase) {
  record_events();
  stack_.start_timer({"--scan-ms", "200", "--map-poll-ms", "200"});
  auto s2_url = PostgresServer::shared().create_database(false);
  ASSERT_EQ(cli({"shards", "add", "s2", "--partitions", "200-255", "--url",
                 PostgresServer::service_url(s2_url), "--admin-url", s2_url}),
            0)
      << output_;
  stack_.start_worker({"--storage-shard", "s1"});
  stack_.start_worker({"--storage-shard", "s2"});
  stack_.start_worker();
  std::vector<std::string> ids;
  std::set<int> places;  // 0: s1, 1: control, 2: s2
  for (int i = 0; places.size() < 3 || ids.size() < 9; ++i) {
    auto id = "a" + std::to_string(i);
    auto p = protocol::partition_of("Scratch", id, kPartitions);
    ids.push_back(id);
    places.insert(p <= 127 ? 0 : p < 200 ? 1 : 2);
    call("Scratch", id, "set_alarm", {{"in_ms", 100}});
  }
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& id : ids) {
          if (events_on("evt.Scratch." + id + ".alarm") != 1) return false;
        }
        return true;
      },
      20s))
      << stack_.worker_logs();
  EXPECT_EQ(on_shard("SELECT count(*) FROM dobj.alarms"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.alarms"), 0);

  // s2 reached by another URL: the running timer's loop for s2 starts again on it (its sessions
  // carry the new URL's application_name) and fires s2's alarms from there.
  ASSERT_EQ(cli({"shards", "set-url", "s2",
                 PostgresServer::service_url(s2_url) + "?application_name=s2-moved", "--admin-url",
                 s2_url}),
            0)
      << output_;
  auto count_on_s2 = [&](const std::string& sql) {
    auto conn = store::connect(s2_url);
    pqxx::nontransaction tx(*conn);
    return tx.exec1(sql)[0].as<std::int64_t>();
  };
  ASSERT_TRUE(wait_until(
      [&] {
        return count_on_s2(
                   "SELECT count(*) FROM pg_stat_activity "
                   "WHERE application_name = 's2-moved'") > 0;
      },
      10s));
  std::string late;
  for (int i = 0; late.empty(); ++i) {
    auto id = "late" + std::to_string(i);
    if (protocol::partition_of("Scratch", id, kPartitions) >= 200) late = id;
  }
  call("Scratch", late, "set_alarm", {{"in_ms", 100}});
  EXPECT_TRUE(wait_until([&] { return events_on("evt.Scratch." + late + ".alarm") == 1; }, 20s));
  // Only a URL that leads to that shard is taken.
  EXPECT_NE(cli({"shards", "set-url", "s2", shard_url_}), 0);
  EXPECT_NE(output_.find("is storage shard s1's"), std::string::npos) << output_;
  EXPECT_NE(cli({"shards", "set-url", "nope", s2_url}), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.storage_databases WHERE url LIKE '%s2-moved'"), 1);
}

// A storage database that refuses connections gets one attempt from the timer per retry
// interval: the timer once retried at once, thousands of times a second, holding a core for as
// long as the database was down (and slowing every other process through the outage).
TEST_F(StorageShardTest, TheTimerRetriesARefusingDatabaseAtItsRetryPace) {
  auto s2_url = PostgresServer::shared().create_database(false);
  ASSERT_EQ(cli({"shards", "add", "s2", "--partitions", "200-255", "--url",
                 PostgresServer::service_url(s2_url), "--admin-url", s2_url}),
            0)
      << output_;
  auto& timer = stack_.start_timer({"--map-poll-ms", "200"});
  ASSERT_TRUE(wait_until(
      [&] { return timer.log().find("firing the alarms stored in s2") != std::string::npos; }, 10s))
      << timer.log();
  refuse_connections(s2_url, true);
  auto refusals = [&] {
    auto log = timer.log();
    std::size_t n = 0;
    for (auto at = log.find("cannot connect to PostgreSQL"); at != std::string::npos;
         at = log.find("cannot connect to PostgreSQL", at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return refusals() > 0; }, 10s)) << timer.log();
  // Two seconds at one try per TimerConfig::kStorageRetry (100 ms) is about 20; 60 leaves room
  // for a slow machine, a busy loop makes thousands.
  constexpr std::size_t kMostTries = 60;
  auto start = refusals();
  EXPECT_FALSE(wait_until([&] { return refusals() - start > kMostTries; }, 2s))
      << refusals() - start << " tries in two seconds";
  refuse_connections(s2_url, false);
}

// A timer started while one storage database is down serves the others, and that one as soon as
// it is back (it once refused to start at all).
TEST_F(StorageShardTest, ATimerStartsWhileAStorageDatabaseIsDownAndServesItOnceItIsBack) {
  auto s2_url = PostgresServer::shared().create_database(false);
  ASSERT_EQ(cli({"shards", "add", "s2", "--partitions", "200-255", "--url",
                 PostgresServer::service_url(s2_url), "--admin-url", s2_url}),
            0)
      << output_;
  refuse_connections(s2_url, true);
  auto& timer = stack_.start_timer({"--map-poll-ms", "200"});
  auto logged = [&](const char* text) { return timer.log().find(text) != std::string::npos; };
  EXPECT_TRUE(wait_until([&] { return logged("firing the alarms stored in s1"); }, 10s))
      << timer.log();
  EXPECT_TRUE(wait_until([&] { return logged("alarms stored in s2 cannot start"); }, 10s))
      << timer.log();
  refuse_connections(s2_url, false);
  EXPECT_TRUE(wait_until([&] { return logged("firing the alarms stored in s2"); }, 10s))
      << timer.log();
}

// `dobj shards move`: a range's objects (keys, SQL tables, alarms) go to another shard while
// nobody serves them, then are served from there with nothing lost, and the source keeps no copy
// (here the source's only range: the shard stays in the map with none); the same from the
// control database to that shard.
TEST_F(StorageShardTest, MovedPartitionsKeepTheirObjectsKeysTablesAndAlarms) {
  auto s2_url = PostgresServer::shared().create_database(false);
  ASSERT_EQ(cli({"shards", "add", "s2", "--partitions", "200-255", "--url",
                 PostgresServer::service_url(s2_url), "--admin-url", s2_url}),
            0)
      << output_;
  auto count_on = [](const std::string& url, const std::string& sql) {
    auto conn = store::connect(url);
    pqxx::nontransaction tx(*conn);
    return tx.exec1(sql)[0].as<std::int64_t>();
  };
  stack_.start_worker({"--storage-shard", "s1"});
  stack_.start_worker({"--storage-shard", "s2"});
  stack_.start_worker();
  // Objects of partitions 0-63 (in s1) and 128-199 (in the control database).
  std::vector<std::string> low, middle;
  for (int i = 0; low.size() < 6 || middle.size() < 4; ++i) {
    auto id = "m" + std::to_string(i);
    auto p = protocol::partition_of("Scratch", id, kPartitions);
    if (p <= 63 && low.size() < 6) low.push_back(id);
    if (p >= 128 && p <= 199 && middle.size() < 4) middle.push_back(id);
  }
  auto sql = [](const std::string& q) { return Value{{"query", q}}; };
  for (const auto& id : low) {
    call("Scratch", id, "put", {{"key", "k"}, {"value", id}});
    call("Scratch", id, "sql", sql("CREATE TABLE t (x int PRIMARY KEY)"));
    call("Scratch", id, "sql", sql("INSERT INTO t VALUES (7)"));
  }
  call("Scratch", low[0], "set_alarm", {{"in_ms", 600'000}});
  for (const auto& id : middle) call("Scratch", id, "put", {{"key", "k"}, {"value", id}});
  ASSERT_EQ(count_on(shard_url_, "SELECT count(*) FROM dobj.objects WHERE p <= 63"), 6);

  // Two rows a statement: every table's rows take several batches.
  ASSERT_EQ(cli({"shards", "move", "0-127", "s2", "--shard-admin-url", "s1=" + shard_url_,
                 "--shard-admin-url", "s2=" + s2_url, "--rows-per-batch", "2"}),
            0)
      << output_ << stack_.worker_logs();
  EXPECT_NE(output_.find("moved partitions 0-127 to s2"), std::string::npos) << output_;
  EXPECT_EQ(count_on(shard_url_, "SELECT count(*) FROM dobj.objects WHERE p <= 63"), 0);
  EXPECT_EQ(count_on(s2_url, "SELECT count(*) FROM dobj.objects WHERE p <= 63"), 6);
  EXPECT_EQ(count_on(s2_url, "SELECT count(*) FROM dobj.alarms"), 1);
  // No schema of a moved object is left behind (the pool's ready ones stay).
  EXPECT_EQ(count_on(shard_url_,
                     "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'o\\_%' "
                     "AND nspname NOT IN (SELECT name FROM dobj.schema_pool)"),
            0);
  // Served from s2 once its worker has claimed them: every key, row and alarm as it was.
  ASSERT_TRUE(answers("Scratch", low[0], "get", {{"key", "k"}}, low[0])) << stack_.worker_logs();
  for (const auto& id : low) {
    EXPECT_EQ(call("Scratch", id, "get", {{"key", "k"}}), id);
    EXPECT_EQ(call("Scratch", id, "sql", sql("SELECT x FROM t")), Value::parse(R"([{"x": 7}])"));
  }
  EXPECT_TRUE(call("Scratch", low[0], "get_alarm").is_number());

  // From the control database to a shard, and the map shows where everything is now.
  ASSERT_EQ(cli({"shards", "move", "128-199", "s1", "--shard-admin-url", "s1=" + shard_url_}), 0)
      << output_;
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.objects"), 0);
  EXPECT_EQ(count_on(shard_url_, "SELECT count(*) FROM dobj.objects WHERE p BETWEEN 128 AND 199"),
            4);
  ASSERT_TRUE(answers("Scratch", middle[0], "get", {{"key", "k"}}, middle[0]));
  for (const auto& id : middle) EXPECT_EQ(call("Scratch", id, "get", {{"key", "k"}}), id);
  ASSERT_EQ(cli({"shards", "--json"}), 0) << output_;
  auto listed = Value::parse(output_);
  std::map<std::string, Value> by_name;
  for (const auto& place : listed) by_name[place["name"].get<std::string>()] = place;
  EXPECT_EQ(by_name["control"]["partitions"], 0) << output_;
  EXPECT_EQ(by_name["s1"]["partitions"], 72) << output_;        // 128-199
  EXPECT_EQ(by_name["s2"]["partitions"], 128 + 56) << output_;  // 0-127, 200-255
  // Moving what is not there, or across places, is refused with nothing changed.
  EXPECT_NE(cli({"shards", "move", "0-63", "s2"}), 0);
  EXPECT_NE(output_.find("are in s2"), std::string::npos) << output_;
  EXPECT_NE(cli({"shards", "move", "120-130", "s1"}), 0);
  EXPECT_NE(output_.find("more than one place"), std::string::npos) << output_;
  EXPECT_NE(cli({"shards", "move", "0-3", "nope"}), 0);
  EXPECT_NE(output_.find("no storage shard is named 'nope'"), std::string::npos) << output_;
}

TEST_F(StorageShardTest, TheMapRefusesOverlapsAndWorkersRefuseUnknownShards) {
  EXPECT_NE(cli({"shards", "add", "s2", "--partitions", "100-200", "--url",
                 PostgresServer::service_url(shard_url_), "--admin-url", shard_url_}),
            0);
  EXPECT_NE(output_.find("overlap shard s1"), std::string::npos) << output_;
  EXPECT_NE(cli({"shards", "add", "s2", "--partitions", "200-300", "--url", shard_url_}), 0);
  EXPECT_NE(output_.find("not a range within 0-255"), std::string::npos) << output_;
  EXPECT_NE(cli({"shards", "add", "s2", "--partitions", "x", "--url", shard_url_}), 0);
  EXPECT_NE(output_.find("FIRST-LAST"), std::string::npos) << output_;
  // Objects already in the control database's partitions would vanish behind a shard.
  stack_.start_worker();
  std::string id;
  for (int i = 0; id.empty(); ++i) {
    if (protocol::partition_of("Counter", "k" + std::to_string(i), kPartitions) >= 128) {
      id = "k" + std::to_string(i);
    }
  }
  call("Counter", id, "inc");
  auto other = PostgresServer::shared().create_database(false);
  EXPECT_NE(cli({"shards", "add", "s2", "--partitions", "128-255", "--url", other}), 0);
  EXPECT_NE(output_.find("objects of these partitions live in the control database"),
            std::string::npos)
      << output_;
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.storage_shards"), 1);

  ServiceProcess bad({worker_binary(), "--storage-shard", "nope", "--metrics-addr", "off"},
                     stack_.nats().service_url(), stack_.service_database_url(),
                     stack_.temp_dir() + "/bad-worker.log");
  auto status = bad.process().wait(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), kExitStartFailed);
  EXPECT_NE(bad.log().find("no storage shard is named 'nope'"), std::string::npos) << bad.log();
}

// A database holds one shard's objects: it cannot become a second shard, and a worker led to
// another database by --storage-url refuses to start instead of serving the shard from it.
TEST_F(StorageShardTest, OneDatabaseIsOneShardWhicheverUrlLeadsThere) {
  EXPECT_NE(cli({"shards", "add", "s2", "--partitions", "200-255", "--url",
                 PostgresServer::service_url(shard_url_), "--admin-url", shard_url_}),
            0);
  EXPECT_NE(output_.find("holds storage shard s1's objects"), std::string::npos) << output_;
  EXPECT_EQ(scalar("SELECT count(*) FROM dobj.storage_databases"), 1);

  auto start = [&](const std::string& storage_url, const std::string& log) {
    return std::make_unique<ServiceProcess>(
        std::vector<std::string>{worker_binary(), "--storage-shard", "s1", "--storage-url",
                                 storage_url, "--metrics-addr", "off"},
        stack_.nats().service_url(), stack_.service_database_url(), stack_.temp_dir() + log);
  };
  auto wrong = start(stack_.service_database_url(), "/wrong-worker.log");
  auto status = wrong->process().wait(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), kExitStartFailed);
  EXPECT_NE(wrong->log().find("is not a storage shard's"), std::string::npos) << wrong->log();
  // The shard itself, by a URL other than the map's: served.
  auto right = start(PostgresServer::service_url(shard_url_) + "?application_name=by-flag",
                     "/right-worker.log");
  ASSERT_TRUE(wait_until(
      [&] {
        return on_shard("SELECT count(*) FROM dobj.partitions WHERE owner IS NOT NULL") == 128;
      },
      20s))
      << right->log();
}

}  // namespace
}  // namespace dobj::testing
