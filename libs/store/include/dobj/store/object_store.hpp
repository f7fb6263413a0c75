#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dobj/store/worker_registry.hpp"

namespace dobj::store {

// An object's lease, proven by (owner, epoch) in dobj.objects.
struct ObjectLease {
  std::int64_t epoch = 0;
  std::string schema_name;  // the object's o_<hash> schema
  bool schema_exists = false;
};

struct KvWrite {
  std::string key;
  std::optional<std::string> value;  // msgpack bytes; nullopt deletes the key
};

struct ObjectCommit {
  std::string class_name;
  std::string object_id;
  ObjectLease lease;
  std::vector<KvWrite> writes;
};

// Which lease to give back.
struct LeaseRef {
  std::string class_name;
  std::string object_id;
  std::int64_t epoch = 0;
};

enum class CommitOutcome {
  kCommitted,
  kFenced,  // the object was taken over: its savepoint rolled back, nothing of it was written
};

// An executor shard's view of PostgreSQL: object leases, lazy loads and fenced group commits.
// One instance per connection, used by one thread.
class ObjectStore {
 public:
  ObjectStore(pqxx::connection& conn, WorkerId me) : conn_(conn), me_(me) {}

  // Claims the object if this worker owns its partition and no live worker holds it; bumps the
  // epoch. nullopt when it cannot be claimed now (the caller replies `moved`).
  std::optional<ObjectLease> claim(const std::string& class_name, const std::string& object_id,
                                   int partition);
  std::optional<std::string> load(const ObjectLease& lease, const std::string& key);
  std::vector<std::pair<std::string, std::string>> load_all(const ObjectLease& lease);
  // One transaction, one savepoint per object. Each object's fencing UPDATE runs first; an object
  // whose (owner, epoch) no longer matches is rolled back alone. Creates an object's schema on its
  // first write. Throws Error(kStorageError) when the transaction as a whole fails.
  std::vector<CommitOutcome> commit(std::vector<ObjectCommit>& commits);
  // Gives the leases back (eviction, drain); leases already taken over are left alone.
  void release(const std::vector<LeaseRef>& leases);

  // Distinct per-object schemas this connection has touched: each pins ≈ 8 KB of backend cache
  // until the connection closes (DESIGN.md §4), so the owner recycles the connection past a bound.
  std::size_t schemas_touched() const { return touched_.size(); }

 private:
  void touch(const std::string& schema) { touched_.insert(schema); }

  pqxx::connection& conn_;
  WorkerId me_;
  std::unordered_set<std::string> touched_;
};

}  // namespace dobj::store
