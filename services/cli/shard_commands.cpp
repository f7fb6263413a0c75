// dobj shards | shards add: the storage shard map (DESIGN.md §7), and the shards' part of
// `dobj migrate`.
#include <fmt/format.h>

#include <map>

#include "commands.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/redact.hpp"
#include "dobj/core/value.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/storage_shards.hpp"
#include "query.hpp"
#include "shard_args.hpp"
#include "table.hpp"

namespace dobj::cli {
namespace {

void print_progress(const std::string& step) {
  fmt::print("  {}\n", step);
  std::fflush(stdout);
}

// What one storage location holds, looked up on it; `error` says why it could not be.
struct ShardStatus {
  std::string name;                         // "control": the control database
  std::vector<store::StorageShard> ranges;  // none for the control database
  int partitions = 0;
  std::string url;
  std::int64_t live_workers = 0;
  std::int64_t objects = -1;
  int version = -1;
  std::string error{};

  bool control() const { return ranges.empty(); }
  std::string ranges_text() const {
    std::string out;
    for (const auto& r : ranges) {
      if (!out.empty()) out += ",";
      out += fmt::format("{}-{}", r.first_partition, r.last_partition);
      if (r.state != "serving") out += fmt::format(" ({} from {})", r.state, r.source);
    }
    return out;
  }
};

void look_up(ShardStatus& s) {
  try {
    auto db = store::connect(s.url);
    s.version = store::MigrationRunner(*db).current_version();
    pqxx::nontransaction tx(*db);
    s.objects = tx.exec1("SELECT count(*) FROM dobj.objects")[0].as<std::int64_t>();
  } catch (const std::exception& e) {
    s.error = e.what();
  }
}

std::vector<ShardStatus> statuses(const ConnectionConfig& conn) {
  auto db = store::connect(conn.database_url);
  auto map = store::StorageShardMap::load(*db);
  int partitions = store::PartitionTable(*db).partition_count();
  std::map<std::string, std::int64_t> live;
  for (const auto& r : query(*db, "counting live workers",
                             "SELECT coalesce(storage_shard, ''), count(*) FROM dobj.workers "
                             "WHERE state <> 'stopped' AND lease_until > now() GROUP BY 1")) {
    live[r[0].as<std::string>()] = r[1].as<std::int64_t>();
  }
  // The control database holds the objects of the partitions no shard covers.
  std::vector<ShardStatus> out;
  out.push_back({"control", {}, map.control_partitions(partitions), conn.database_url, live[""]});
  for (const auto& shard : map.databases()) {
    ShardStatus s{shard.name, {}, map.partitions_of(shard.name), shard.url, live[shard.name]};
    for (const auto& r : map.ranges()) {
      if (r.name == shard.name) s.ranges.push_back(r);
    }
    out.push_back(std::move(s));
  }
  for (auto& s : out) look_up(s);
  return out;
}

void list(const ConnectionConfig& conn, bool json) {
  auto shards = statuses(conn);
  if (json) {
    Value out = Value::array();
    for (const auto& s : shards) {
      Value ranges = Value::array();
      for (const auto& r : s.ranges) {
        ranges.push_back({{"first_partition", r.first_partition},
                          {"last_partition", r.last_partition},
                          {"state", r.state},
                          {"source", r.source.empty() ? Value() : Value(r.source)}});
      }
      out.push_back({{"name", s.name},
                     {"control", s.control()},
                     {"ranges", ranges},
                     {"partitions", s.partitions},
                     {"url", redact(s.url)},
                     {"live_workers", s.live_workers},
                     {"objects", s.objects < 0 ? Value() : Value(s.objects)},
                     {"version", s.version < 0 ? Value() : Value(s.version)},
                     {"error", s.error.empty() ? Value() : Value(s.error)}});
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& s : shards) {
    std::string range = !s.control()        ? s.ranges_text()
                        : s.partitions == 0 ? std::string("none")
                                            : fmt::format("{} not in a shard", s.partitions);
    table.push_back({s.control() ? "(control)" : s.name, range, std::to_string(s.live_workers),
                     s.objects < 0 ? "-" : std::to_string(s.objects),
                     s.version < 0 ? "-" : std::to_string(s.version),
                     s.error.empty() ? redact(s.url) : "unreachable: " + s.error});
  }
  print_table({"SHARD", "PARTITIONS", "WORKERS", "OBJECTS", "VERSION", "DATABASE"}, table);
}

// The admin views' part: a failure (no superuser to create the extensions) leaves the shard
// serving and says how to finish.
bool link(pqxx::connection& control, const std::string& name, const std::string& url) {
  try {
    store::link_storage_shard(control, name, url);
    fmt::print("dobj_admin views in the control database show storage shard {}'s rows\n", name);
    return true;
  } catch (const Error& e) {
    fmt::print(stderr,
               "warning: the dobj_admin views cannot show storage shard {} yet: {}\n"
               "  as a superuser of the control database: dobj shards link {} --admin-url URL\n",
               name, e.what(), name);
    return false;
  }
}

void add(const ConnectionConfig& conn, const std::string& name, const std::string& range,
         const std::string& url, const std::string& admin_url) {
  auto [first, last] = parse_partition_range(range);
  auto db = store::connect(conn.database_url);
  store::check_storage_shard(*db, {name, first, last});
  int partitions = store::PartitionTable(*db).partition_count();
  fmt::print("migrating storage shard {} ({})\n", name,
             redact(admin_url.empty() ? url : admin_url));
  {
    auto shard = store::connect(admin_url.empty() ? url : admin_url);
    store::MigrationRunner(*shard).migrate(partitions, print_progress);
    int shard_partitions = store::PartitionTable(*shard).partition_count();
    if (shard_partitions != partitions) {
      throw Error(ErrorCode::kBadRequest,
                  fmt::format("that database was migrated for {} partitions; the cluster has {}",
                              shard_partitions, partitions));
    }
    store::name_storage_database(*shard, name);
  }
  // Workers and timers connect with `url`: it must work before anything is routed there.
  store::connect(url);
  store::add_storage_shard(*db, {name, url}, {name, first, last});
  link(*db, name, admin_url.empty() ? url : admin_url);
  fmt::print(
      "storage shard {} holds the objects of partitions {}-{}; start its workers with "
      "--storage-shard {}\n",
      name, first, last, name);
}

// Another URL for a shard (it moved, or its role changed): only one that leads to the same
// shard's database is taken.
void set_url(const ConnectionConfig& conn, const std::string& name, const std::string& url,
             const std::string& admin_url) {
  auto db = store::connect(conn.database_url);
  if (!store::StorageShardMap::load(*db).find(name)) {
    throw Error(ErrorCode::kBadRequest, "no storage shard is named " + name);
  }
  store::check_storage_database(*store::connect(url), name);
  store::set_storage_shard_url(*db, name, url);
  link(*db, name, admin_url.empty() ? url : admin_url);
  fmt::print(
      "storage shard {} is reached by {}: timers follow at their next map read (--map-poll-ms); "
      "restart its workers one at a time (each hands its partitions over as it stops)\n",
      name, redact(url));
}

}  // namespace

void migrate_storage_shards(const ConnectionConfig& conn,
                            const std::vector<std::string>& admin_urls) {
  auto overrides = parse_shard_urls(admin_urls);
  auto db = store::connect(conn.database_url);
  auto map = store::StorageShardMap::load(*db);
  // A shard's partitions are numbered as the cluster's: the control database decides.
  int partitions = store::PartitionTable(*db).partition_count();
  for (const auto& [name, url] : overrides) {
    if (!map.find(name)) throw Error(ErrorCode::kBadRequest, "no storage shard is named " + name);
  }
  for (const auto& [name, url] : map.databases()) {
    auto it = overrides.find(name);
    fmt::print("storage shard {}:\n", name);
    std::fflush(stdout);
    auto shard = store::connect(it == overrides.end() ? url : it->second);
    auto report = store::MigrationRunner(*shard).migrate(partitions, print_progress);
    store::name_storage_database(*shard, name);  // shards added before names were recorded
    fmt::print("  {}\n", report.applied.empty()
                             ? fmt::format("current (version {})", report.to_version)
                             : fmt::format("migrated from version {} to {}", report.from_version,
                                           report.to_version));
  }
  if (!map.databases().empty()) {
    // The shards' views may have changed: the control database's copies of them follow.
    try {
      store::relink_storage_shards(*db);
    } catch (const Error& e) {
      fmt::print(stderr, "warning: the dobj_admin views could not follow the shards: {}\n",
                 e.what());
    }
  }
}

void add_shard_commands(CLI::App& app, const ConnectionConfig& conn) {
  auto json = std::make_shared<bool>(false);
  auto* sc = app.add_subcommand("shards", "storage shards: which database holds which partitions");
  sc->add_flag("--json", *json, "JSON output");
  struct AddArgs {
    std::string name, partitions, url, admin_url;
  };
  auto aa = std::make_shared<AddArgs>();
  auto* ac = sc->add_subcommand(
      "add", "migrate a database and make it hold the objects of a partition range");
  ac->add_option("name", aa->name, "the shard's name ([a-z][a-z0-9_-]*)")->required();
  ac->add_option("--partitions", aa->partitions, "FIRST-LAST, e.g. 0-127")->required();
  ac->add_option("--url", aa->url, "the database URL workers and timers use")->required();
  ac->add_option("--admin-url", aa->admin_url,
                 "the URL to migrate it with, when that needs another role (default: --url)");
  ac->callback([aa, &conn] { add(conn, aa->name, aa->partitions, aa->url, aa->admin_url); });
  add_shard_move_command(*sc, conn);
  auto ua = std::make_shared<AddArgs>();
  auto* uc = sc->add_subcommand(
      "set-url", "reach a storage shard by another URL (checked to lead to that shard)");
  uc->add_option("name", ua->name, "the shard's name")->required();
  uc->add_option("url", ua->url, "the database URL workers and timers use from now on")->required();
  uc->add_option("--admin-url", ua->admin_url,
                 "the URL the dobj_admin views read it with (default: the new URL)");
  uc->callback([ua, &conn] { set_url(conn, ua->name, ua->url, ua->admin_url); });
  auto la = std::make_shared<AddArgs>();
  auto* lc = sc->add_subcommand(
      "link", "show a storage shard's rows in the control database's dobj_admin views");
  lc->add_option("name", la->name, "the shard's name")->required();
  lc->add_option("--admin-url", la->admin_url,
                 "the URL the views read the shard with (default: its map URL)");
  lc->callback([la, &conn] {
    auto db = store::connect(conn.database_url);
    auto url = la->admin_url;
    if (url.empty()) {
      auto map = store::StorageShardMap::load(*db);
      const auto* shard = map.find(la->name);
      if (!shard) throw Error(ErrorCode::kBadRequest, "no storage shard is named " + la->name);
      url = shard->url;
    }
    if (!link(*db, la->name, url)) throw Error(ErrorCode::kStorageError, "not linked");
  });
  sc->callback([sc, json, &conn] {
    if (sc->get_subcommands().empty()) list(conn, *json);
  });
}

}  // namespace dobj::cli
