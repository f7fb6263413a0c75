#include <fmt/format.h>

#include "commands.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/redact.hpp"
#include "dobj/core/value.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/store/database.hpp"
#include "dobj/store/migration_runner.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/storage_shards.hpp"
#include "query.hpp"
#include "table.hpp"

namespace dobj::cli {
namespace {

void migrate(const ConnectionConfig& conn, int partitions,
             const std::vector<std::string>& shard_admin_urls) {
  auto db = store::connect(conn.database_url);
  store::MigrationRunner runner(*db);
  auto report = runner.migrate(partitions, [](const std::string& step) {
    fmt::print("{}\n", step);
    std::fflush(stdout);
  });
  if (report.applied.empty()) {
    fmt::print("database is current (version {})\n", report.to_version);
  } else {
    fmt::print("migrated from version {} to {}\n", report.from_version, report.to_version);
  }
  migrate_storage_shards(conn, shard_admin_urls);
}

void ls(const ConnectionConfig& conn, const std::string& class_name, int limit, bool json) {
  auto db = store::connect(conn.database_url);
  bool sharded = !store::StorageShardMap::load(*db).databases().empty();
  auto rows = query(*db, "listing objects",
                    "SELECT class, id, active, owner, epoch, version, size_bytes, last_active_at, "
                    "shard FROM dobj_admin.objects WHERE $1 = '' OR class = $1 "
                    "ORDER BY class, id LIMIT $2",
                    class_name, limit);
  if (json) {
    Value out = Value::array();
    for (const auto& r : rows) {
      out.push_back({{"class", r[0].c_str()},
                     {"id", r[1].c_str()},
                     {"active", r[2].as<bool>()},
                     {"owner", r[3].is_null() ? Value() : Value(r[3].as<std::int64_t>())},
                     {"epoch", r[4].as<std::int64_t>()},
                     {"version", r[5].as<std::int64_t>()},
                     {"size_bytes", r[6].as<std::int64_t>()},
                     {"last_active_at", r[7].c_str()},
                     {"shard", r[8].c_str()}});
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({text(r[0]), text(r[1]), r[2].as<bool>() ? "active" : "idle", text(r[3]),
                     text(r[4]), text(r[5]), text(r[6]), text(r[7])});
    if (sharded) table.back().push_back(text(r[8]));
  }
  std::vector<std::string> header{"CLASS", "ID",      "STATE", "OWNER",
                                  "EPOCH", "VERSION", "BYTES", "LAST ACTIVE"};
  if (sharded) header.push_back("SHARD");
  print_table(header, table);
  if (static_cast<int>(rows.size()) == limit) {
    fmt::print("(first {} objects; --limit shows more)\n", limit);
  }
}

// inspect lists at most this many of an object's undelivered messages.
constexpr int kMaxOutboxShown = 20;

// Throws why an object is not in the admin views: never called, or kept in a storage shard whose
// rows the control database's views do not show (not linked).
[[noreturn]] void missing(pqxx::connection& db, const std::string& class_name,
                          const std::string& object_id) {
  auto map = store::StorageShardMap::load(db);
  int partitions = store::PartitionTable(db).partition_count();
  const auto* shard = map.shard_of(protocol::partition_of(class_name, object_id, partitions));
  if (shard) {
    pqxx::nontransaction tx(db);
    bool linked = !tx.exec_params("SELECT 1 FROM pg_foreign_server WHERE srvname = $1",
                                  "dobj_shard_" + shard->name)
                       .empty();
    if (!linked) {
      throw Error(ErrorCode::kBadRequest,
                  class_name + "/" + object_id + " would live in storage shard " + shard->name +
                      ", which the admin views do not show: dobj shards link " + shard->name);
    }
  }
  throw Error(ErrorCode::kBadRequest,
              "no object " + class_name + "/" + object_id + " (never called?)");
}

void inspect(const ConnectionConfig& conn, const std::string& class_name,
             const std::string& object_id, bool json) {
  auto db = store::connect(conn.database_url);
  store::with_storage_errors("inspecting the object", [&] {
    pqxx::nontransaction tx(*db);
    auto obj = tx.exec_params(
        "SELECT partition, active, owner, epoch, version, schema_name, size_bytes, created_at, "
        "last_active_at, alarm_at, (SELECT retry_count FROM dobj_admin.alarms a "
        "WHERE a.class = o.class AND a.id = o.id), shard "
        "FROM dobj_admin.objects o WHERE class = $1 AND id = $2",
        class_name, object_id);
    if (obj.empty()) {
      tx.commit();
      missing(*db, class_name, object_id);
    }
    auto kv =
        tx.exec_params("SELECT key, value::text FROM dobj_admin.kv($1, $2)", class_name, object_id);
    // Its durable messages, events and awaited calls not done yet (ctx.send, ctx.publish_durable,
    // ctx.call), oldest first, each with where it goes (and a call, where it resumes).
    auto outbox = tx.exec_params(
        "SELECT seq, CASE WHEN kind = 'event' THEN 'evt.' || sender_class || '.' || sender_id || "
        "'.' || method ELSE target_class || '.' || target_id || '.' || method END, "
        "argument::text, attempts, extract(epoch FROM age)::float8, coalesce(last_error, ''), "
        "kind, coalesce(call->>'then', '') "
        "FROM dobj_admin.outbox WHERE sender_class = $1 AND sender_id = $2 ORDER BY seq LIMIT $3",
        class_name, object_id, kMaxOutboxShown);
    auto outbox_total =
        tx.exec_params1(
              "SELECT count(*) FROM dobj_admin.outbox WHERE sender_class = $1 AND sender_id = $2",
              class_name, object_id)[0]
            .as<std::int64_t>();
    const auto& o = obj[0];
    if (json) {
      Value keys = Value::object();
      for (const auto& r : kv) keys[r[0].c_str()] = Value::parse(r[1].c_str());
      Value out = {{"class", class_name},
                   {"id", object_id},
                   {"partition", o[0].as<int>()},
                   {"shard", o[11].c_str()},
                   {"active", o[1].as<bool>()},
                   {"owner", o[2].is_null() ? Value() : Value(o[2].as<std::int64_t>())},
                   {"epoch", o[3].as<std::int64_t>()},
                   {"version", o[4].as<std::int64_t>()},
                   {"schema", o[5].is_null() ? Value() : Value(o[5].c_str())},
                   {"size_bytes", o[6].as<std::int64_t>()},
                   {"created_at", o[7].c_str()},
                   {"last_active_at", o[8].c_str()},
                   {"alarm", o[9].is_null() ? Value() : Value(o[9].c_str())},
                   {"alarm_retries", o[10].is_null() ? Value() : Value(o[10].as<int>())},
                   {"keys", keys},
                   {"outbox_pending", outbox_total}};
      Value pending = Value::array();
      for (const auto& r : outbox) {
        pending.push_back({{"seq", r[0].as<std::int64_t>()},
                           {"to", r[1].c_str()},
                           {"argument", Value::parse(r[2].c_str())},
                           {"attempts", r[3].as<int>()},
                           {"age_s", r[4].as<double>()},
                           {"last_error", r[5].c_str()},
                           {"kind", r[6].c_str()}});
        if (!r[7].as<std::string>().empty()) pending.back()["then"] = r[7].c_str();
      }
      out["outbox"] = pending;
      fmt::print("{}\n", out.dump(2));
      return;
    }
    fmt::print("object     {}/{}\n", class_name, object_id);
    fmt::print("partition  {}\n", text(o[0]));
    if (std::string_view(o[11].c_str()) != "control") {
      fmt::print("stored in  storage shard {}\n", text(o[11]));
    }
    fmt::print("lease      {} (owner {}, epoch {})\n", o[1].as<bool>() ? "held" : "free",
               text(o[2]), text(o[3]));
    fmt::print("version    {} commits\n", text(o[4]));
    fmt::print("schema     {} ({} bytes)\n", text(o[5]), text(o[6]));
    fmt::print("created    {}\nactive     {}\n", text(o[7]), text(o[8]));
    fmt::print(
        "alarm      {}{}\n", o[9].is_null() ? "none" : o[9].c_str(),
        o[10].is_null() || o[10].as<int>() == 0 ? "" : fmt::format(" (retry {})", o[10].as<int>()));
    fmt::print("keys       {}\n", kv.size());
    for (const auto& r : kv) fmt::print("  {} = {}\n", r[0].c_str(), r[1].c_str());
    fmt::print("outbox     {} message{} not delivered yet\n", outbox_total,
               outbox_total == 1 ? "" : "s");
    for (const auto& r : outbox) {
      auto then = r[7].as<std::string>();
      fmt::print("  #{} → {} {} ({}attempts {}, {:.1f} s old{}{})\n", r[0].c_str(), r[1].c_str(),
                 r[2].c_str(), then.empty() ? "" : "a call, resumes in " + then + "; ",
                 r[3].c_str(), r[4].as<double>(), r[5].size() ? ", last error: " : "",
                 r[5].c_str());
    }
    if (outbox_total > static_cast<std::int64_t>(outbox.size())) {
      fmt::print("  … and {} more (dobj_admin.outbox has them all)\n",
                 outbox_total - static_cast<std::int64_t>(outbox.size()));
    }
  });
}

}  // namespace

void add_admin_commands(CLI::App& app, const ConnectionConfig& conn) {
  auto partitions = std::make_shared<int>(protocol::kDefaultPartitions);
  auto* mig = app.add_subcommand("migrate", "apply migrations to the database (idempotent)");
  mig->add_option("--partitions", *partitions, "partition count of a new cluster (fixed after)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  auto shard_admin_urls = std::make_shared<std::vector<std::string>>();
  mig->add_option("--shard-admin-url", *shard_admin_urls,
                  "NAME=URL: migrate storage shard NAME with this URL instead of its map URL");
  mig->callback(
      [partitions, shard_admin_urls, &conn] { migrate(conn, *partitions, *shard_admin_urls); });

  struct LsArgs {
    std::string class_name;
    int limit = 100;
    bool json = false;
  };
  auto la = std::make_shared<LsArgs>();
  auto* lsc = app.add_subcommand("ls", "list objects (optionally of one class)");
  lsc->add_option("class", la->class_name);
  lsc->add_option("--limit", la->limit)->check(CLI::Range(1, 1000000))->capture_default_str();
  lsc->add_flag("--json", la->json, "JSON output");
  lsc->callback([la, &conn] { ls(conn, la->class_name, la->limit, la->json); });

  struct InspectArgs {
    std::string class_name, object_id;
    bool json = false;
  };
  auto ia = std::make_shared<InspectArgs>();
  auto* ins = app.add_subcommand("inspect", "show an object's lease, epoch and decoded keys");
  ins->add_option("class", ia->class_name)->required();
  ins->add_option("id", ia->object_id)->required();
  ins->add_flag("--json", ia->json, "JSON output");
  ins->callback([ia, &conn] { inspect(conn, ia->class_name, ia->object_id, ia->json); });
}

}  // namespace dobj::cli
