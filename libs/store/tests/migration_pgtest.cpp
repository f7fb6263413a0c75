#include "dobj/store/migration_runner.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"
#include "dobj/core/names.hpp"
#include "dobj/store/database.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::store {
namespace {

using testing::PostgresServer;

TEST(Migrations, ApplyToAnEmptyDatabase) {
  auto conn = connect(PostgresServer::shared().create_database(false));
  MigrationRunner runner(*conn);
  EXPECT_EQ(runner.current_version(), 0);
  EXPECT_THROW(runner.require_current(), Error);
  std::vector<std::string> steps;
  auto report = runner.migrate(64, [&](const std::string& s) { steps.push_back(s); });
  EXPECT_EQ(report.from_version, 0);
  EXPECT_EQ(report.to_version, runner.latest_version());
  EXPECT_EQ(report.applied.size(), bundled_migrations().size() + bundled_definitions().size());
  EXPECT_EQ(report.applied.back(), "functions/" + bundled_definitions().back().name);
  EXPECT_EQ(steps.size(), report.applied.size());
  runner.require_current();
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT partitions FROM dobj.cluster")[0].as<int>(), 64);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dobj.partitions")[0].as<int>(), 64);
}

TEST(Migrations, AreIdempotentOnACurrentDatabase) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  MigrationRunner runner(*conn);
  auto report = runner.migrate(256);
  EXPECT_TRUE(report.applied.empty());
  EXPECT_EQ(report.from_version, report.to_version);
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dobj.migrations")[0].as<std::size_t>(),
            bundled_migrations().size());
}

TEST(Migrations, RefuseADatabaseNewerThanTheBinary) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  {
    pqxx::nontransaction tx(*conn);
    tx.exec0("INSERT INTO dobj.migrations(version, name, checksum) VALUES (9999, 'future', 'x')");
  }
  MigrationRunner runner(*conn);
  EXPECT_THROW(runner.migrate(256), Error);
  EXPECT_THROW(runner.require_current(), Error);
}

TEST(Migrations, RefuseAnAppliedMigrationThatChanged) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  auto changed = bundled_migrations();
  changed.front().sql += "\n-- edited after release";
  MigrationRunner runner(*conn, changed);
  EXPECT_THROW(runner.migrate(256), Error);
}

// A migration whose text changed on purpose says which earlier text it stands for.
TEST(Migrations, AcceptAnEarlierTextTheMigrationSaysItReplaces) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  auto rewritten = bundled_migrations();
  const auto original = rewritten.front().sql;
  rewritten.front().sql = "-- dobj: replaces checksum " + std::string(64, '0') + "\n" +
                          "-- dobj: replaces checksum " + sha256_hex(original) + "\n" + original +
                          "\n-- comments moved";
  MigrationRunner runner(*conn, rewritten);
  EXPECT_NO_THROW(runner.migrate(256));
  EXPECT_NO_THROW(runner.require_current());
  // Naming some other text is no licence.
  rewritten.front().sql = "-- dobj: replaces checksum " + std::string(64, '0') + "\n" + original +
                          "\n-- comments moved";
  EXPECT_THROW(MigrationRunner(*conn, rewritten).migrate(256), Error);
}

TEST(Migrations, ApplyAChangedDefinitionAgainAndLeaveTheOthers) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  auto changed = bundled_definitions();
  ASSERT_GE(changed.size(), 2u);
  changed[1].sql += "\nCOMMENT ON SCHEMA dobj IS 'changed';";
  MigrationRunner newer(*conn, bundled_migrations(), changed);
  EXPECT_THROW(newer.require_current(), Error);  // this binary's definitions are not there yet
  auto report = newer.migrate(256);
  EXPECT_EQ(report.applied, std::vector<std::string>{"functions/" + changed[1].name});
  EXPECT_NO_THROW(newer.require_current());
  {
    pqxx::nontransaction tx(*conn);
    EXPECT_EQ(tx.exec1("SELECT obj_description('dobj'::regnamespace)")[0].as<std::string>(),
              "changed");
  }
  // The older binary now finds definitions other than its own.
  EXPECT_THROW(MigrationRunner(*conn).require_current(), Error);
  EXPECT_TRUE(newer.migrate(256).applied.empty());
}

// A database migrated by 0.1's texts: its migrations are accepted by checksum, the definitions
// replace what those texts created, and a stale overload of the commit function goes.
TEST(Migrations, UpgradeADatabaseWhoseFunctionsCameFromVersionedMigrations) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  {
    pqxx::work tx(*conn);
    for (const auto& m : bundled_migrations()) {
      auto marker = std::string("-- dobj: replaces checksum ");
      if (m.sql.starts_with(marker)) {
        tx.exec_params0("UPDATE dobj.migrations SET checksum = $1 WHERE version = $2",
                        m.sql.substr(marker.size(), 64), m.version);
      }
    }
    tx.exec0("DELETE FROM dobj.definitions");
    tx.exec0(
        "CREATE FUNCTION dobj.commit_objects(p_owner bigint, p_class text[]) RETURNS void "
        "LANGUAGE sql AS 'SELECT'");
    tx.commit();
  }
  MigrationRunner runner(*conn);
  EXPECT_THROW(runner.require_current(), Error);
  auto report = runner.migrate(256);
  EXPECT_EQ(report.applied.size(), bundled_definitions().size());
  EXPECT_NO_THROW(runner.require_current());
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_proc WHERE proname = 'commit_objects'")[0].as<int>(),
            1);
  // Nine of them of per-object data, which also exist in dobj_local (joined across storage
  // shards in a control database).
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_views WHERE schemaname = 'dobj_admin'")[0].as<int>(),
            13);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_views WHERE schemaname = 'dobj_local'")[0].as<int>(),
            9);
}

// 0017 keeps each storage shard's URL once: a cluster sharded under 0016 (a URL on every range
// row) keeps its shards, their URLs and their ranges.
TEST(Migrations, UpgradeAShardMapThatKeptAUrlOnEveryRange) {
  auto conn = connect(PostgresServer::shared().create_database(false));
  auto upto16 = bundled_migrations();
  std::erase_if(upto16, [](const Migration& m) { return m.version > 16; });
  MigrationRunner(*conn, upto16, {}).migrate(256);
  {
    pqxx::work tx(*conn);
    tx.exec0(
        "INSERT INTO dobj.storage_shards (first_partition, last_partition, name, url) VALUES "
        "(0, 63, 's1', 'host=a'), (64, 127, 's1', 'host=a'), (128, 191, 's2', 'host=b')");
    tx.commit();
  }
  MigrationRunner(*conn).migrate(256);
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT string_agg(name || '=' || url, ',' ORDER BY name) "
                     "FROM dobj.storage_databases")[0]
                .as<std::string>(),
            "s1=host=a,s2=host=b");
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dobj.storage_shards")[0].as<int>(), 3);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                     "'dobj' AND table_name = 'storage_shards' AND column_name = 'url'")[0]
                .as<int>(),
            0);
  // A range of a shard the map does not know is refused.
  EXPECT_THROW(tx.exec0("INSERT INTO dobj.storage_shards (first_partition, last_partition, name) "
                        "VALUES (200, 210, 'nope')"),
               pqxx::foreign_key_violation);
}

TEST(AdminViews, DecodeMsgpackValuesToJsonb) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  Value v = {{"n", -200},
             {"big", std::numeric_limits<std::uint64_t>::max()},
             {"f", 1.5},
             {"s", "héllo"},
             {"xs", {1, nullptr, true}},
             {"bin", Value::binary({1, 2})}};
  auto bytes = encode_msgpack(v);
  pqxx::nontransaction tx(*conn);
  auto decoded = tx.exec_params1("SELECT dobj_admin.msgpack_to_jsonb($1)::text",
                                 pqxx::binarystring(bytes.data(), bytes.size()))[0]
                     .as<std::string>();
  auto got = Value::parse(decoded);
  EXPECT_EQ(got["n"], -200);
  EXPECT_EQ(got["big"].dump(), "18446744073709551615");
  EXPECT_EQ(got["f"], 1.5);
  EXPECT_EQ(got["s"], "héllo");
  EXPECT_EQ(got["xs"], Value({1, nullptr, true}));
  EXPECT_EQ(got["bin"], Value({{"$bin", "AQI="}}));
}

TEST(AdminViews, ReaderRoleSeesViewsButNotTables) {
  auto conn = connect(PostgresServer::shared().create_database(true));
  pqxx::work tx(*conn);
  tx.exec0("SET LOCAL ROLE dobj_reader");
  tx.exec("SELECT * FROM dobj_admin.workers");
  tx.exec("SELECT * FROM dobj_admin.partitions");
  tx.exec("SELECT * FROM dobj_admin.objects");
  tx.exec("SELECT * FROM dobj_admin.kv('Counter', 'none')");
  EXPECT_THROW(tx.exec("SELECT * FROM dobj.objects"), pqxx::sql_error);
}

}  // namespace
}  // namespace dobj::store
