#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dobj/store/worker_registry.hpp"

namespace dobj::store {

// A storage shard: a database that keeps the objects of the partition ranges the map gives it
// (dobj.storage_databases, migrations/0017).
struct StorageDatabase {
  std::string name;
  // What workers and timers connect with (libpq URL or key=value string).
  std::string url;
};

// One range of the shard map (dobj.storage_shards, migrations/0016): partitions first..last keep
// their objects in shard `name`.
struct StorageShard {
  std::string name;
  int first_partition = 0;
  int last_partition = 0;
  // "serving"; while `dobj shards move` moves the range here: "copying" (served by no one),
  // then "cleaning" (served here while `source`'s copies go).
  std::string state = "serving";
  std::string source{};  // "control" or a shard's name, while moving

  int size() const { return last_partition - first_partition + 1; }  // partitions in the range
};

// The shard map, read from the control database. Partitions no range covers keep their objects
// in the control database itself.
class StorageShardMap {
 public:
  static StorageShardMap load(pqxx::connection& control);
  StorageShardMap(std::vector<StorageDatabase> databases, std::vector<StorageShard> ranges)
      : databases_(std::move(databases)), ranges_(std::move(ranges)) {}

  // Every shard, in the order they were added (a shard may hold no range).
  const std::vector<StorageDatabase>& databases() const { return databases_; }
  // Every range, by first partition.
  const std::vector<StorageShard>& ranges() const { return ranges_; }
  // The shard of that name; nullptr: no such shard.
  const StorageDatabase* find(const std::string& name) const;
  // The shard holding partition p's objects; nullptr: the control database.
  const StorageShard* shard_of(int partition) const;
  // How many of the cluster's `partitions` keep their objects in the control database.
  int control_partitions(int partitions) const;
  // How many partitions the shard's ranges hold.
  int partitions_of(const std::string& name) const;

 private:
  std::vector<StorageDatabase> databases_;  // by added_at
  std::vector<StorageShard> ranges_;        // by first_partition
};

// Adds a shard to the map. Refuses (Error kBadRequest) a range that overlaps another shard's,
// lies outside the cluster's partitions, or covers objects the control database still holds
// (they would vanish from view: moving data is `dobj shards move`'s job).
void add_storage_shard(pqxx::connection& control, const StorageDatabase& shard,
                       const StorageShard& range);
// The same checks without adding it (before a shard's database is migrated).
void check_storage_shard(pqxx::connection& control, const StorageShard& range);

// Workers and timers reach shard `name` by `url` from now on (those running keep their
// connections: a worker reads it when it starts, a timer within its map poll). Refuses (Error
// kBadRequest) an unknown name. Check first that `url` leads to that shard
// (check_storage_database).
void set_storage_shard_url(pqxx::connection& control, const std::string& name,
                           const std::string& url);

// In the shard's own database: records that it holds shard `name`'s objects (dobj.cluster).
// Refuses (Error kBadRequest) a database that already holds another shard's. Idempotent.
void name_storage_database(pqxx::connection& shard, const std::string& name);
// Refuses (Error kBadRequest) a database that is not shard `name`'s: one recorded for another
// shard, or a control database (one without a name; shards added before it was recorded get it
// from their next `dobj migrate`).
void check_storage_database(pqxx::connection& shard, const std::string& name);

// Makes the control database's dobj_admin views show the shard's rows (a `shard` column says
// where each lives) and dobj_admin.kv() reach its objects: postgres_fdw and dblink (created in
// schema dobj if missing: needs a superuser; dblink's functions revoked from PUBLIC), a foreign
// server dobj_shard_<name> with a user mapping of the linking role to `url`'s, and the shard's
// dobj_local views imported into schema dobj_shard_<name>. The views and kv() reach the shard as
// their owner, so the role that runs `dobj migrate` must be the one that linked. Idempotent;
// replaces an earlier link of that shard.
void link_storage_shard(pqxx::connection& control, const std::string& name, const std::string& url);
// Imports every linked shard's views anew (after their migration changed them) and rebuilds the
// dobj_admin views. Shards never linked are left out.
void relink_storage_shards(pqxx::connection& control);

// A partition and the epoch of its current claim (dobj.partitions in the control database).
using PartitionEpoch = std::pair<int, std::int64_t>;

// A worker's lease as its storage shard sees it: a copy of its dobj.workers row (lease_until in
// the shard's own clock) and of its partitions' owner rows. Claims and the fencing UPDATE on
// the shard read these, so both stay one local transaction there. The control database stays
// the authority: a partition changes owner there first, and the copy only ever moves to a
// newer claim (a higher epoch).
class ShardLeaseMirror {
 public:
  explicit ShardLeaseMirror(pqxx::connection& shard) : conn_(shard) {}

  // Inserts the worker's row, or extends it by ttl from the shard's now() while its lease there
  // still runs. False when it had run out (or the row is stopped): the worker must self-fence
  // and register anew.
  bool renew(WorkerId id, const WorkerInfo& info, std::chrono::milliseconds ttl);
  // Makes the shard's partition rows say exactly this: the worker owns `owned` (at their
  // epochs) and nothing else.
  void mirror_partitions(WorkerId id, const std::vector<PartitionEpoch>& owned);
  // The worker has stopped: its lease, partitions and objects there are free at once.
  void mark_stopped(WorkerId id);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
