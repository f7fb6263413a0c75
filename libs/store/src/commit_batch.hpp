#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "dobj/store/object_store.hpp"

namespace dobj::store {

// One call of dobj.commit_objects (migrations/functions/30_commit_objects.sql) for a shard's batch,
// as data: one dobj.object_commit per object, plus the stored idempotency replies and the durable
// messages (dobj.outbox) of the objects that commit. Pure (no PostgreSQL): ObjectStore::commit
// runs sql() with params() in one round trip.
class CommitBatch {
 public:
  CommitBatch(WorkerId owner, std::chrono::milliseconds reply_window)
      : owner_(owner), reply_window_(reply_window) {}

  // `entered`: the object ran SQL in this batch's transaction (it was fenced when it entered).
  void add(const ObjectCommit& commit, bool entered);
  std::size_t size() const { return objects_.size(); }
  bool has_replies() const { return !reply_keys_.empty(); }
  bool has_sends() const { return !send_classes_.empty(); }

  // kTogether: dobj.commit_objects_together, the whole batch or (any object's commit failing)
  // nothing; kPerObject: dobj.commit_objects, which rejects an object whose commit fails alone,
  // at the price of a subtransaction per call (≈ 20% of a one-object commit's database time).
  enum class Isolation { kTogether, kPerObject };
  // Rows (idx, committed, object_schema, rejected), ordered by idx (1-based, in add() order);
  // object_schema: the schema the object has after the commit (NULL: none); rejected: NULL, or
  // why the database refused the object's commit (kPerObject only).
  std::string sql(Isolation isolation) const;
  std::vector<std::string> params() const;

 private:
  using Texts = std::vector<std::optional<std::string>>;

  WorkerId owner_;
  std::chrono::milliseconds reply_window_;
  std::vector<std::string> objects_;  // dobj.object_commit literals, in add() order
  std::vector<std::string> reply_keys_, reply_types_;
  Texts reply_of_, reply_ok_, reply_bodies_, reply_pending_;
  std::vector<std::string> send_kinds_, send_classes_, send_ids_, send_methods_, send_traces_;
  Texts send_of_, send_seqs_, send_partitions_, send_bodies_, send_calls_;  // calls: NULL for none
};

}  // namespace dobj::store
