#pragma once

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dobj/store/object_store.hpp"

namespace dobj::store {

// The commonest commit, one object writing keys, as a statement prepared once per object on
// the shard's connection (issue 17): the general commit (dobj.commit_objects_together) parses
// its record array, runs PL/pgSQL and parses and plans a dynamic upsert on every call, about
// 0.1 ms of server time a commit more than this statement. Same checks, same writes, same
// result rows (CommitBatch::sql's columns): the writer's lease first (dobj.check_commit_lease
// raises DOB01), then the fencing UPDATE, then the upsert only when the fence held.
// A commit qualifies when it is the whole batch, its schema exists, it puts keys and does
// nothing else (no deletes, no alarm change, no stored replies, no durable messages), and no
// batch transaction is open (no SQL ran). Statements live as long as the connection, or
// until the object is released; at most `max_statements` at once (each keeps a plan in the
// backend), the rest run the same statement unprepared.
class PreparedCommits {
 public:
  PreparedCommits(pqxx::connection& conn, std::size_t max_statements)
      : conn_(conn), max_statements_(max_statements) {}

  // Outside an open batch transaction only; never with max_statements 0 (the general commit
  // for everything).
  bool qualifies(const std::vector<ObjectCommit>& batch) const;
  // Runs the commit's statement (prepared when there is room) as a transaction of its own.
  pqxx::result run(WorkerId owner, const ObjectCommit& commit);
  // The object's statement goes (the object left this worker): a round trip if it had one.
  void forget(const std::string& class_name, const std::string& object_id);
  std::size_t prepared() const { return statements_.size(); }

  // The statement for one object schema; $1 owner, $2 class, $3 id, $4 epoch, $5 keys,
  // $6 values (bytea text).
  static std::string sql(const std::string& quoted_schema, const std::string& schema_literal);

 private:
  struct Statement {
    std::string schema;  // the one it writes: an object that lost its schema gets another
    std::string name;
  };
  void drop(std::unordered_map<std::string, Statement>::iterator it);
  void lose_all();

  pqxx::connection& conn_;
  std::size_t max_statements_;
  // The backend lost statements libpqxx still counts as prepared (a turn's SQL may run
  // DEALLOCATE ALL): from then on this connection commits through the general path.
  bool lost_ = false;
  std::unordered_map<std::string, Statement> statements_;  // by object: class + '\0' + id
  std::size_t next_name_ = 0;
};

}  // namespace dobj::store
