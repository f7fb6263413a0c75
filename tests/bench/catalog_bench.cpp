// dobj-catalog-bench: how far one PostgreSQL database goes with dobj's schema per object
// (docs/scaling.md). Makes object schemas exactly as first writes do (dobj.create_object_schema)
// with their dobj.objects rows, and at each step measures the catalog (rows and bytes), the
// database's size, what a backend's memory grows by per object it touches, a first and a second
// upsert into touched objects (the commit's dynamic SQL), and VACUUM of the catalogs; at the end
// it drops a tenth of the objects and vacuums again.
//   dobj-catalog-bench --objects 200000 --step 50000     docs/scaling.md's numbers
//   dobj-catalog-bench --objects 2000 --step 1000        the test command: the harness works
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "dobj/store/database.hpp"
#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/process.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace dobj;

// Schemas per transaction while filling (the schema pool's filler makes 32; bigger is faster
// here and changes nothing measured).
constexpr int kCreateBatch = 500;
constexpr auto kCatalogs =
    "pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_depend, "
    "pg_catalog.pg_type, pg_catalog.pg_namespace, pg_catalog.pg_index";

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Step {
  long objects = 0;
  double create_per_s = 0;
  long pg_class = 0, pg_attribute = 0, pg_depend = 0, pg_type = 0;
  double catalog_mb = 0, database_mb = 0;
  double backend_kb_per_touched = 0;
  double first_upsert_us = 0, second_upsert_us = 0;
  double vacuum_s = 0;
};

class CatalogBench {
 public:
  CatalogBench(long touch, std::string url) : touch_(touch), url_(std::move(url)) {
    conn_ = store::connect(url_);
  }

  double create(long from, long to) {
    auto t0 = Clock::now();
    for (long a = from; a < to; a += kCreateBatch) {
      long b = std::min(to, a + kCreateBatch) - 1;
      pqxx::work tx(*conn_);
      tx.exec_params(
          "SELECT dobj.create_object_schema('o_s' || g) FROM generate_series($1::bigint, $2) g", a,
          b);
      tx.exec_params(
          "INSERT INTO dobj.objects (class, id, p, schema_name, epoch) "
          "SELECT 'Bench', 'b' || g, g % 256, 'o_s' || g, 1 FROM generate_series($1::bigint, $2) g",
          a, b);
      tx.commit();
    }
    return static_cast<double>(to - from) / seconds_since(t0);
  }

  Step measure(long objects) {
    Step s;
    s.objects = objects;
    {
      pqxx::nontransaction tx(*conn_);
      auto r = tx.exec1(
          "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_attribute), "
          "(SELECT count(*) FROM pg_depend), (SELECT count(*) FROM pg_type), "
          "(SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
          "   JOIN pg_namespace n ON n.oid = c.relnamespace "
          "  WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r'), "
          "pg_database_size(current_database())");
      s.pg_class = r[0].as<long>();
      s.pg_attribute = r[1].as<long>();
      s.pg_depend = r[2].as<long>();
      s.pg_type = r[3].as<long>();
      s.catalog_mb = r[4].as<double>() / 1e6;
      s.database_mb = r[5].as<double>() / 1e6;
    }
    if (objects > 0) touch(objects, s);
    auto t0 = Clock::now();
    pqxx::nontransaction(*conn_).exec(std::string("VACUUM ") + kCatalogs);
    s.vacuum_s = seconds_since(t0);
    return s;
  }

  // What a worker's connection pays per object it commits to: a fresh backend upserts one key
  // into `touch_` objects picked at random, then again into the same ones.
  void touch(long objects, Step& s) {
    auto fresh = store::connect(url_);
    pqxx::nontransaction tx(*fresh);
    auto n = std::min(touch_, objects);
    tx.exec_params(
        "CREATE TEMP TABLE picked AS SELECT 'o_s' || g AS name FROM generate_series(0, $1 - 1) g "
        "ORDER BY random() LIMIT $2",
        objects, n);
    auto memory = [&] {
      return tx.exec1("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")[0].as<double>();
    };
    const std::string upserts =
        "DO $$ DECLARE s text; BEGIN FOR s IN SELECT name FROM picked LOOP "
        "EXECUTE format('INSERT INTO %I.kv (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', s) USING 'k', '\\x01'::bytea; "
        "END LOOP; END $$";
    auto before = memory();
    auto t0 = Clock::now();
    tx.exec(upserts);
    s.first_upsert_us = seconds_since(t0) * 1e6 / static_cast<double>(n);
    s.backend_kb_per_touched = (memory() - before) / 1024.0 / static_cast<double>(n);
    t0 = Clock::now();
    tx.exec(upserts);
    s.second_upsert_us = seconds_since(t0) * 1e6 / static_cast<double>(n);
  }

  // Drops every tenth object's schema: the catalogs' dead rows and their VACUUM.
  std::pair<long, double> churn(long objects) {
    for (long a = 0; a < objects; a += kCreateBatch * 10) {
      pqxx::work tx(*conn_);
      tx.exec_params(
          "SELECT dobj.drop_bench_schema('o_s' || g) FROM generate_series($1::bigint, $2) g "
          "WHERE g % 10 = 0",
          a, std::min(objects, a + kCreateBatch * 10) - 1);
      tx.commit();
    }
    pqxx::nontransaction tx(*conn_);
    // A backend reports its statistics at most once a second unless told to.
    tx.exec("SELECT pg_stat_force_next_flush()");
    tx.exec("SELECT 1");
    tx.exec("SELECT pg_stat_clear_snapshot()");
    auto dead = tx.exec1(
                      "SELECT sum(n_dead_tup) FROM pg_stat_sys_tables WHERE schemaname = "
                      "'pg_catalog' AND relname IN ('pg_class', 'pg_attribute', 'pg_depend', "
                      "'pg_type', 'pg_namespace', 'pg_index')")[0]
                    .as<long>();
    auto t0 = Clock::now();
    tx.exec(std::string("VACUUM ") + kCatalogs);
    return {dead, seconds_since(t0)};
  }

  // A schema-only pg_dump of the database: an operator's backup of its definitions takes a lock
  // on every table in one transaction. Returns the seconds it took, or the error's first line.
  std::string dump() {
    const char* dir = std::getenv("DOBJ_PG_BINDIR");
    std::string pg_dump =
        std::string(dir && *dir ? dir : "/usr/lib/postgresql/15/bin") + "/pg_dump";
    std::string out;
    auto t0 = Clock::now();
    int rc = testing::run_command({pg_dump, "--schema-only", "-f", "/dev/null", url_}, &out);
    if (rc == 0) return fmt::format("{:.1f} s", seconds_since(t0));
    auto error = out.substr(0, out.find('\n'));
    return "failed: " + error;
  }

  void add_drop_function() {
    pqxx::nontransaction(*conn_).exec(
        "CREATE FUNCTION dobj.drop_bench_schema(p text) RETURNS void LANGUAGE plpgsql AS "
        "$$ BEGIN EXECUTE format('DROP SCHEMA %I CASCADE', p); END $$");
  }

 private:
  long touch_;
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace

int main(int argc, char** argv) {
  long objects = 200000, step = 50000, touch = 2000;
  std::string json_path;
  CLI::App app{"dobj-catalog-bench: one database's catalog as objects grow (docs/scaling.md)"};
  app.add_option("--objects", objects, "objects at the end")
      ->check(CLI::Range(100L, 2'000'000L))
      ->capture_default_str();
  app.add_option("--step", step, "measure every this many objects")
      ->check(CLI::Range(100L, 2'000'000L))
      ->capture_default_str();
  app.add_option("--touch", touch, "objects a fresh backend upserts into at each step")
      ->check(CLI::Range(10L, 100'000L))
      ->capture_default_str();
  app.add_option("--json", json_path, "also write the results here");
  CLI11_PARSE(app, argc, argv);

  setenv("DOBJ_TEST_PG_FSYNC", "on", 1);  // as a deployment runs (the test servers' default is off)
  auto& server = testing::PostgresServer::shared();
  CatalogBench bench(touch, server.create_database(true));
  bench.add_drop_function();
  std::vector<Step> steps;
  auto empty = bench.measure(0);
  empty.objects = 0;
  steps.push_back(empty);
  for (long done = 0; done < objects;) {
    long next = std::min(objects, done + step);
    auto rate = bench.create(done, next);
    auto s = bench.measure(next);
    s.create_per_s = rate;
    steps.push_back(s);
    fmt::print(stderr, "  {:>8} objects: {:.0f} created/s, catalog {:.0f} MB\n", next, rate,
               s.catalog_mb);
    done = next;
  }
  auto dump = bench.dump();
  auto [dead, vacuum_after_drop] = bench.churn(objects);

  std::string md = fmt::format(
      "| objects | created/s | pg_class rows | pg_attribute rows | pg_depend rows | catalog MB | "
      "database MB | backend KB per touched object | first upsert µs | next upsert µs | "
      "VACUUM catalogs s |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  nlohmann::json json;
  for (const auto& s : steps) {
    auto or_dash = [&](double v, int decimals) {
      return s.objects == 0 ? std::string("-") : fmt::format("{:.{}f}", v, decimals);
    };
    md +=
        fmt::format("| {} | {} | {} | {} | {} | {:.0f} | {:.0f} | {} | {} | {} | {:.2f} |\n",
                    s.objects, or_dash(s.create_per_s, 0), s.pg_class, s.pg_attribute, s.pg_depend,
                    s.catalog_mb, s.database_mb, or_dash(s.backend_kb_per_touched, 1),
                    or_dash(s.first_upsert_us, 0), or_dash(s.second_upsert_us, 0), s.vacuum_s);
    json["steps"].push_back({{"objects", s.objects},
                             {"created_per_s", s.create_per_s},
                             {"pg_class", s.pg_class},
                             {"pg_attribute", s.pg_attribute},
                             {"pg_depend", s.pg_depend},
                             {"pg_type", s.pg_type},
                             {"catalog_mb", s.catalog_mb},
                             {"database_mb", s.database_mb},
                             {"backend_kb_per_touched", s.backend_kb_per_touched},
                             {"first_upsert_us", s.first_upsert_us},
                             {"second_upsert_us", s.second_upsert_us},
                             {"vacuum_s", s.vacuum_s}});
  }
  const auto& last = steps.back();
  const auto& first = steps.front();
  auto per = [&](double a, double b) { return (a - b) / static_cast<double>(last.objects); };
  md += fmt::format(
      "\nper object: {:.1f} pg_class rows, {:.1f} pg_attribute rows, {:.1f} pg_depend rows, "
      "{:.1f} pg_type rows, {:.1f} KB of catalog, {:.1f} KB of database.\n"
      "dropping every tenth object ({}) left {} dead catalog rows; VACUUM of the catalogs then "
      "took {:.2f} s.\npg_dump --schema-only of {} objects: {}.\n"
      "fsync on, shared_buffers 128 MB, max_connections 200, max_locks_per_transaction 64; 2 "
      "cores shared; touched per step: {} (a fresh backend).\n",
      per(static_cast<double>(last.pg_class), static_cast<double>(first.pg_class)),
      per(static_cast<double>(last.pg_attribute), static_cast<double>(first.pg_attribute)),
      per(static_cast<double>(last.pg_depend), static_cast<double>(first.pg_depend)),
      per(static_cast<double>(last.pg_type), static_cast<double>(first.pg_type)),
      per(last.catalog_mb, first.catalog_mb) * 1000,
      per(last.database_mb, first.database_mb) * 1000, objects / 10, dead, vacuum_after_drop,
      objects, dump, touch);
  json["pg_dump_schema_only"] = dump;
  json["dead_catalog_rows_after_drop"] = dead;
  json["vacuum_after_drop_s"] = vacuum_after_drop;
  fmt::print("{}", md);
  if (!json_path.empty()) std::ofstream(json_path) << json.dump(2) << "\n";
  // The harness works when the numbers are sane (the test command's run).
  bool sane = last.pg_class > first.pg_class + objects && last.backend_kb_per_touched > 0 &&
              last.first_upsert_us > 0 && dead > 0;
  if (!sane) fmt::print("FAIL: the measurements are not sane\n");
  return sane ? 0 : 1;
}
