#include "dobj/store/storage_shards.hpp"

#include <libpq-fe.h>

#include <algorithm>

#include "dobj/core/error.hpp"
#include "dobj/store/database.hpp"
#include "shard_map_sql.hpp"
#include "sql_values.hpp"

namespace dobj::store {

StorageShardMap StorageShardMap::load(pqxx::connection& control) {
  return with_storage_errors(control, "reading the storage shard map", [&] {
    pqxx::read_transaction tx(control);  // one snapshot of both tables
    std::vector<StorageDatabase> databases;
    for (const auto& row :
         tx.exec("SELECT name, url FROM dobj.storage_databases ORDER BY added_at, name")) {
      databases.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    }
    std::vector<StorageShard> ranges;
    for (const auto& row :
         tx.exec("SELECT name, first_partition, last_partition, state, coalesce(source, '') "
                 "FROM dobj.storage_shards ORDER BY first_partition")) {
      ranges.push_back({row[0].as<std::string>(), row[1].as<int>(), row[2].as<int>(),
                        row[3].as<std::string>(), row[4].as<std::string>()});
    }
    return StorageShardMap(std::move(databases), std::move(ranges));
  });
}

const StorageDatabase* StorageShardMap::find(const std::string& name) const {
  auto it = std::find_if(databases_.begin(), databases_.end(),
                         [&](const StorageDatabase& d) { return d.name == name; });
  return it == databases_.end() ? nullptr : &*it;
}

const StorageShard* StorageShardMap::shard_of(int partition) const {
  auto it = std::find_if(ranges_.begin(), ranges_.end(), [&](const StorageShard& s) {
    return s.first_partition <= partition && partition <= s.last_partition;
  });
  return it == ranges_.end() ? nullptr : &*it;
}

int StorageShardMap::partitions_of(const std::string& name) const {
  int n = 0;
  for (const auto& r : ranges_) {
    if (r.name == name) n += r.size();
  }
  return n;
}

int StorageShardMap::control_partitions(int partitions) const {
  int covered = 0;
  for (const auto& r : ranges_) covered += r.size();
  return partitions - covered;
}

namespace shard_map_sql {

void check_partition_range(pqxx::transaction_base& tx, int first, int last) {
  auto partitions = tx.exec1("SELECT partitions FROM dobj.cluster")[0].as<int>();
  if (first < 0 || last >= partitions || first > last) {
    throw Error(ErrorCode::kBadRequest, "partitions " + std::to_string(first) + "-" +
                                            std::to_string(last) + " are not a range within 0-" +
                                            std::to_string(partitions - 1));
  }
}

std::optional<std::string> shard_url(pqxx::transaction_base& tx, const std::string& name) {
  auto rows = tx.exec_params("SELECT url FROM dobj.storage_databases WHERE name = $1", name);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

}  // namespace shard_map_sql

namespace {

// Refuses what the map cannot take (see add_storage_shard), inside tx.
void check_new_shard(pqxx::transaction_base& tx, const StorageShard& range) {
  auto refuse = [&](const std::string& why) {
    throw Error(ErrorCode::kBadRequest, "storage shard " + range.name + ": " + why);
  };
  shard_map_sql::check_partition_range(tx, range.first_partition, range.last_partition);
  if (shard_map_sql::shard_url(tx, range.name)) refuse("the name is taken");
  auto clash = tx.exec_params(
      "SELECT name FROM dobj.storage_shards WHERE "
      "int4range(first_partition, last_partition, '[]') && int4range($1, $2, '[]')",
      range.first_partition, range.last_partition);
  if (!clash.empty()) {
    refuse("its partitions overlap shard " + clash[0][0].as<std::string>() + "'s");
  }
  auto stranded = tx.exec_params1("SELECT count(*) FROM dobj.objects WHERE p BETWEEN $1 AND $2",
                                  range.first_partition, range.last_partition)[0]
                      .as<std::int64_t>();
  if (stranded > 0) {
    refuse(std::to_string(stranded) +
           " objects of these partitions live in the control database; a shard over them "
           "would hide them");
  }
}

}  // namespace

void check_storage_shard(pqxx::connection& control, const StorageShard& range) {
  with_storage_errors(control, "checking a storage shard", [&] {
    pqxx::read_transaction tx(control);
    check_new_shard(tx, range);
  });
}

void add_storage_shard(pqxx::connection& control, const StorageDatabase& shard,
                       const StorageShard& range) {
  if (range.name != shard.name) {
    throw Error(ErrorCode::kBadRequest,
                "the range names shard " + range.name + ", not " + shard.name);
  }
  with_storage_errors(control, "adding a storage shard", [&] {
    pqxx::work tx(control);
    // Serializes with other map changes.
    tx.exec0("LOCK TABLE dobj.storage_shards IN EXCLUSIVE MODE");
    // No object of the range can appear in the control database behind the check: a claim's
    // INSERT waits for this lock, then sees the new map row and refuses.
    tx.exec0("LOCK TABLE dobj.objects IN SHARE MODE");
    check_new_shard(tx, range);
    tx.exec_params0("INSERT INTO dobj.storage_databases (name, url) VALUES ($1, $2)", shard.name,
                    shard.url);
    tx.exec_params0(
        "INSERT INTO dobj.storage_shards (name, first_partition, last_partition) "
        "VALUES ($1, $2, $3)",
        range.name, range.first_partition, range.last_partition);
    tx.commit();
  });
}

void set_storage_shard_url(pqxx::connection& control, const std::string& name,
                           const std::string& url) {
  with_storage_errors(control, "changing a storage shard's URL", [&] {
    pqxx::work tx(control);
    auto rows =
        tx.exec_params("UPDATE dobj.storage_databases SET url = $2 WHERE name = $1", name, url);
    if (rows.affected_rows() == 0) {
      throw Error(ErrorCode::kBadRequest, "no storage shard is named " + name);
    }
    tx.commit();
  });
}

void name_storage_database(pqxx::connection& shard, const std::string& name) {
  with_storage_errors(shard, "naming the storage shard's database", [&] {
    pqxx::work tx(shard);
    auto held = tx.exec1("SELECT storage_shard FROM dobj.cluster FOR UPDATE")[0];
    if (!held.is_null() && held.as<std::string>() != name) {
      throw Error(ErrorCode::kBadRequest, "that database holds storage shard " +
                                              held.as<std::string>() + "'s objects, not " + name +
                                              "'s");
    }
    tx.exec_params0("UPDATE dobj.cluster SET storage_shard = $1", name);
    tx.commit();
  });
}

void check_storage_database(pqxx::connection& shard, const std::string& name) {
  auto held = with_storage_errors(shard, "reading the storage shard's name", [&] {
    pqxx::nontransaction tx(shard);
    auto field = tx.exec1("SELECT storage_shard FROM dobj.cluster")[0];
    return field.is_null() ? std::string() : field.as<std::string>();
  });
  if (held != name) {
    throw Error(ErrorCode::kBadRequest,
                "the database reached for storage shard " + name + " is " +
                    (held.empty() ? std::string("not a storage shard's (no name recorded: "
                                                "`dobj migrate` records it for a shard in the map)")
                                  : "storage shard " + held + "'s"));
  }
}

namespace {

std::string shard_server(const std::string& name) {
  return "dobj_shard_" + name;
}

// `url` as libpq reads it, split into the foreign server's options and the user mapping's.
struct ForeignLogin {
  std::vector<std::pair<std::string, std::string>> server, mapping;
};

ForeignLogin split_login(const std::string& url) {
  // The libpq options postgres_fdw takes on a server; user and password go to the mapping.
  static const std::vector<std::string> kServerOptions{"host",
                                                       "hostaddr",
                                                       "port",
                                                       "dbname",
                                                       "sslmode",
                                                       "sslrootcert",
                                                       "connect_timeout",
                                                       "target_session_attrs"};
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    std::string why = error ? error : "out of memory";
    PQfreemem(error);
    throw Error(ErrorCode::kBadRequest, "cannot read the shard's database URL: " + why);
  }
  ForeignLogin out;
  for (auto* o = options; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string key = o->keyword;
    if (key == "user" || key == "password") {
      out.mapping.emplace_back(key, o->val);
    } else if (std::find(kServerOptions.begin(), kServerOptions.end(), key) !=
               kServerOptions.end()) {
      out.server.emplace_back(key, o->val);
    }
  }
  PQconninfoFree(options);
  return out;
}

std::string options_clause(pqxx::transaction_base& tx,
                           const std::vector<std::pair<std::string, std::string>>& options) {
  if (options.empty()) return "";
  std::string out = " OPTIONS (";
  for (std::size_t i = 0; i < options.size(); ++i) {
    if (i) out += ", ";
    out += options[i].first + " " + tx.quote(options[i].second);
  }
  return out + ")";
}

void import_views(pqxx::transaction_base& tx, const std::string& name) {
  auto schema = quote_ident(shard_server(name));
  tx.exec0("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  tx.exec0("CREATE SCHEMA " + schema);
  tx.exec0("IMPORT FOREIGN SCHEMA dobj_local FROM SERVER " + schema + " INTO " + schema);
}

}  // namespace

void link_storage_shard(pqxx::connection& control, const std::string& name,
                        const std::string& url) {
  auto login = split_login(url);
  with_storage_errors(control, "linking the storage shard's admin views", [&] {
    pqxx::work tx(control);
    if (!shard_map_sql::shard_url(tx, name)) {
      throw Error(ErrorCode::kBadRequest, "no storage shard is named " + name);
    }
    tx.exec0("CREATE EXTENSION IF NOT EXISTS postgres_fdw WITH SCHEMA dobj");
    tx.exec0("CREATE EXTENSION IF NOT EXISTS dblink WITH SCHEMA dobj");
    // Only the admin views and kv() reach the shards: no one else runs dblink's functions.
    tx.exec0(R"sql(
      DO $$
      DECLARE f regprocedure;
      BEGIN
        FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
                 JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                 JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass
                                    AND d.refobjid = e.oid
                 WHERE e.extname = 'dblink' LOOP
          EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        END LOOP;
      END $$)sql");
    auto server = quote_ident(shard_server(name));
    tx.exec0("DROP SERVER IF EXISTS " + server + " CASCADE");
    tx.exec0("CREATE SERVER " + server + " FOREIGN DATA WRAPPER postgres_fdw" +
             options_clause(tx, login.server));
    // For the role linking, which owns the views and kv() (they reach the shard as it): the
    // mapping holds the shard's credentials, so no other role gets one.
    tx.exec0("CREATE USER MAPPING FOR CURRENT_USER SERVER " + server +
             options_clause(tx, login.mapping));
    import_views(tx, name);
    tx.exec("SELECT dobj.link_admin_views()");
    tx.commit();
  });
}

void relink_storage_shards(pqxx::connection& control) {
  with_storage_errors(control, "linking the storage shards' admin views again", [&] {
    pqxx::work tx(control);
    auto linked = tx.exec(
        "SELECT d.name FROM dobj.storage_databases d "
        "JOIN pg_foreign_server s ON s.srvname = 'dobj_shard_' || d.name ORDER BY d.name");
    for (const auto& row : linked) import_views(tx, row[0].as<std::string>());
    tx.exec("SELECT dobj.link_admin_views()");
    tx.commit();
  });
}

bool ShardLeaseMirror::renew(WorkerId id, const WorkerInfo& info, std::chrono::milliseconds ttl) {
  return with_storage_errors(conn_, "renewing the worker lease on its storage shard", [&] {
    pqxx::nontransaction tx(conn_);
    // Like the control row: a lease that has run out is gone for good, so that a worker paused
    // past its lease can never make the shard accept its commits again.
    return !tx.exec_params(
                  "INSERT INTO dobj.workers AS w (id, host, pid, version, lease_until) "
                  "OVERRIDING SYSTEM VALUE "
                  "VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) "
                  "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), "
                  "lease_until = EXCLUDED.lease_until "
                  "WHERE w.state <> 'stopped' AND w.lease_until > now() RETURNING 1",
                  id, info.host, info.pid, info.version, seconds(ttl))
                .empty();
  });
}

void ShardLeaseMirror::mirror_partitions(WorkerId id, const std::vector<PartitionEpoch>& owned) {
  std::vector<std::string> ps, epochs;
  for (const auto& [p, epoch] : owned) {
    ps.push_back(std::to_string(p));
    epochs.push_back(std::to_string(epoch));
  }
  with_storage_errors(conn_, "mirroring partitions to the storage shard", [&] {
    pqxx::nontransaction tx(conn_);
    // One statement: what the worker gave back is free, what it claimed is its own unless the
    // shard already knows a newer claim.
    tx.exec_params0(R"sql(
      WITH mine AS (
        SELECT * FROM unnest($2::int[], $3::bigint[]) AS m(p, epoch)),
      gone AS (
        UPDATE dobj.partitions pa SET owner = NULL
        WHERE pa.owner = $1 AND pa.p NOT IN (SELECT p FROM mine))
      UPDATE dobj.partitions pa SET owner = $1, epoch = mine.epoch, claimed_at = now()
      FROM mine
      WHERE pa.p = mine.p AND pa.epoch <= mine.epoch
        AND (pa.epoch < mine.epoch OR pa.owner IS DISTINCT FROM $1))sql",
                    id, text_array_literal(ps), text_array_literal(epochs));
  });
}

void ShardLeaseMirror::mark_stopped(WorkerId id) {
  with_storage_errors(conn_, "stopping the worker on its storage shard", [&] {
    pqxx::work tx(conn_);
    tx.exec_params0("UPDATE dobj.partitions SET owner = NULL WHERE owner = $1", id);
    tx.exec_params0("UPDATE dobj.objects SET owner = NULL WHERE owner = $1", id);
    tx.exec_params0("UPDATE dobj.workers SET state = 'stopped', lease_until = now() WHERE id = $1",
                    id);
    tx.commit();
  });
}

}  // namespace dobj::store
