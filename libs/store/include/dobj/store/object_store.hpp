#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dobj/store/sql_result.hpp"
#include "dobj/store/worker_registry.hpp"

namespace dobj::store {

class PreparedCommits;

// How many one-object commit statements a connection keeps prepared (PreparedCommits); 0: none.
constexpr std::size_t kDefaultPreparedCommits = 64;

// Wall-clock time in microseconds since the Unix epoch: alarms are wall-clock by nature, and
// microseconds round-trip exactly through timestamptz.
using EpochMicros = std::int64_t;

// How long a reply to a request with an idempotency key is kept for retries.
constexpr std::chrono::milliseconds kDefaultReplyWindow{10 * 60 * 1000};

// An object's lease, proven by (owner, epoch) in dobj.objects.
struct ObjectLease {
  std::int64_t epoch = 0;
  // Its schema: as recorded in dobj.objects, or o_<hash> until the first write takes one (a
  // ready schema of the pool, o_r<n>, or o_<hash> created then).
  std::string schema_name;
  bool schema_exists = false;
  std::optional<EpochMicros> alarm;  // its alarm as stored when claimed
  std::int64_t outbox_seq = 0;       // the last sequence number its durable messages used
};

// What a commit does to the object's alarm row.
enum class AlarmOp {
  kKeep = 0,
  kSet = 1,
  kDelete = 2,
  kDeleteIfDue = 3,  // the alarm turn: delete unless someone set another time meanwhile
};

struct KvWrite {
  std::string key;
  std::optional<std::string> value;  // msgpack bytes; nullopt deletes the key
};

// The first reply to a request that carried Dobj-Idempotency-Key; stored with the turn's commit.
struct StoredReply {
  std::string key;
  bool ok = true;
  std::string content_type;  // the Content-Type header value the reply was encoded in
  std::string body;
  // An answer still to come: the request's turn made an awaited call, and the continuation's
  // commit replaces this row with the reply (a retry meanwhile hears unknown_outcome).
  bool pending = false;
};

// Finds a stored reply: which object, which key.
struct ReplyRef {
  std::string class_name;
  std::string object_id;
  std::string key;
};

// A durable one-way message (ctx.send): committed with its sender's turn into dobj.outbox, then
// delivered at least once with the idempotency key send:<sender class>/<sender id>/<seq>.
struct DurableMessage {
  std::string sender_class;
  std::string sender_id;
  std::int64_t seq = 0;  // per sender, from 1, in send order
  int partition = 0;     // the sender's: the owner of that partition delivers
  // A durable event (ctx.publish_durable): published to evt.<sender class>.<sender id>.<method>
  // with no target; the body is its payload.
  bool event = false;
  std::string target_class;
  std::string target_id;
  std::string method;
  std::string body;  // msgpack
  std::string traceparent{};
  int attempts = 0;  // deliveries tried so far (as stored)
  EpochMicros created_at = 0;
  // An awaited call (ctx.call): its route (msgpack map: the continuation, where its answer
  // goes, the deadline); empty for a one-way message or an event.
  std::string call{};
};

struct ObjectCommit {
  std::string class_name;
  std::string object_id;
  ObjectLease lease;
  bool delete_all = false;  // every stored key goes first, then `writes` apply
  std::vector<KvWrite> writes;
  AlarmOp alarm_op = AlarmOp::kKeep;
  EpochMicros alarm_at = 0;             // for kSet and kDeleteIfDue
  std::string alarm_trace{};            // kSet: the setting turn's traceparent ("" for none)
  std::vector<StoredReply> replies{};   // idempotent replies of this batch's turns
  std::vector<DurableMessage> sends{};  // the batch's durable messages, seq after lease.outbox_seq
  std::string rejected{};               // set by commit(): why the database refused this object
};

// A key range for ranged loads (ctx.storage().list on an object not fully loaded).
struct KeyRange {
  std::string prefix;
  std::optional<std::string> start;  // inclusive
  std::optional<std::string> end;    // exclusive
  std::optional<std::size_t> limit;
  bool reverse = false;
};

struct ClaimRequest {
  std::string class_name;
  std::string object_id;
  int partition = 0;
};

// Which lease to give back.
struct LeaseRef {
  std::string class_name;
  std::string object_id;
  std::int64_t epoch = 0;
};

// The role handler SQL runs as (migrations/0008_least_privilege.sql).
inline const std::string kHandlerRole = "dobj_handler";

enum class CommitOutcome {
  kCommitted,
  kFenced,  // the object was taken over: its savepoint rolled back, nothing of it was written
  // The database refused this object's writes (ObjectCommit::rejected says why); the others of
  // the batch committed without it, and nothing of it was written.
  kRejected,
};

// An executor shard's view of PostgreSQL: object leases, loads, SQL and fenced group commits.
// One instance per connection, used by one thread.
//
// A shard iteration is one *batch transaction*, opened by the first SQL statement or by commit().
// An object *enters* the batch with its fencing UPDATE, which locks its dobj.objects row until the
// batch ends, so an entered object cannot be taken over before the batch commits.
class ObjectStore {
 public:
  ObjectStore(pqxx::connection& conn, WorkerId me,
              std::size_t prepared_commits = kDefaultPreparedCommits);
  ~ObjectStore();

  // Claims the object if this worker owns its partition and no live worker holds it; bumps the
  // epoch. nullopt when it cannot be claimed now (the caller replies `moved`).
  std::optional<ObjectLease> claim(const std::string& class_name, const std::string& object_id,
                                   int partition);
  // Many claims in one statement (one round trip); results in the order of the requests.
  std::vector<std::optional<ObjectLease>> claim_many(const std::vector<ClaimRequest>& requests);
  // Loads run inside the batch transaction when one is open (they see the batch's SQL writes).
  std::optional<std::string> load(const ObjectLease& lease, const std::string& key);
  std::vector<std::pair<std::string, std::string>> load_many(const ObjectLease& lease,
                                                             const std::vector<std::string>& keys);
  std::vector<std::pair<std::string, std::string>> load_range(const ObjectLease& lease,
                                                              const KeyRange& range);

  // Puts the object into the batch (opening it): fencing UPDATE, then its schema exists and SQL
  // runs with it as search_path. False when the object is fenced.
  bool enter(const std::string& class_name, const std::string& object_id, ObjectLease& lease);
  // Runs one statement of an entered object. Throws SqlError for the statement's own failures and
  // Error(kStorageError) for the connection's.
  SqlResult exec_sql(const ObjectLease& lease, const std::string& query,
                     const std::vector<Value>& params);
  // Turn-level savepoint inside the batch: a failed turn's SQL is rolled back alone.
  void begin_turn();
  void end_turn(bool succeeded);
  bool in_batch() const { return tx_ != nullptr; }
  void abort_batch();
  // Finishes the batch in one call of dobj.commit_objects: each object not yet entered runs its
  // fencing UPDATE (a fenced one is skipped, nothing of it written), KV writes are applied, the
  // transaction commits. Without SQL in the batch this is a single round trip; one object
  // writing keys and nothing else runs as a statement prepared for it (PreparedCommits). An
  // object left with no keys and no tables of its own loses its schema. Throws
  // Error(kStorageError) when the transaction as a whole fails (then nothing of the batch
  // happened).
  std::vector<CommitOutcome> commit(std::vector<ObjectCommit>& commits);
  // Stored replies for these keys that have not expired, in the order of `refs` (nullopt where
  // there is none). One round trip.
  std::vector<std::optional<StoredReply>> find_replies(const std::vector<ReplyRef>& refs);
  // How long stored replies are kept (the dedup window).
  void set_reply_window(std::chrono::milliseconds window) { reply_window_ = window; }
  // Gives the leases back (eviction, drain); leases already taken over are left alone.
  void release(const std::vector<LeaseRef>& leases);

  // Distinct per-object schemas this connection has touched: each pins ≈ 8 KB of backend cache
  // until the connection closes (DESIGN.md §4), so the owner recycles the connection past a bound.
  std::size_t schemas_touched() const { return touched_.size(); }

 private:
  void touch(const std::string& schema) { touched_.insert(schema); }
  pqxx::transaction_base& open_batch();
  // The batch transaction when one is open, a one-statement transaction otherwise.
  template <typename Fn>
  auto with_tx(Fn&& fn);
  void set_search_path(pqxx::transaction_base& tx, const std::string& schema);

  pqxx::connection& conn_;
  WorkerId me_;
  std::unique_ptr<PreparedCommits> prepared_;  // one-object commits, prepared per object
  std::unordered_set<std::string> touched_;
  std::unique_ptr<pqxx::work> tx_;
  std::unordered_set<std::string> entered_;  // class + "\0" + id of objects in the batch
  std::string search_path_;                  // set in the batch
  bool turn_savepoint_ = false;
  std::chrono::milliseconds reply_window_{kDefaultReplyWindow};
};

// Deletes expired stored replies, at most `limit` per call; returns how many went.
std::size_t expire_stored_replies(pqxx::connection& conn, std::size_t limit);

}  // namespace dobj::store
