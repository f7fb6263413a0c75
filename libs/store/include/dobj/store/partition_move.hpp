#pragma once

#include <pqxx/pqxx>

#include <cstddef>
#include <string>
#include <vector>

namespace dobj::store {

// A move of partitions first..last to storage shard `target` (`dobj shards move`; DESIGN.md §7).
// The map says where it stands (dobj.storage_shards.state): copying (served by no one while the
// objects are copied from `source`), cleaning (served by the target while the source's copies
// go), then serving. Every step can run again, so a move cut short is finished by starting it
// again with the same range and target.
struct MovePlan {
  int first = 0;
  int last = 0;
  std::string target;
  std::string target_url;
  std::string source;      // "control" or a shard's name
  std::string source_url;  // empty for the control database
  std::string state;       // "copying" or "cleaning"
};

// Marks the range as copying to `target` (splitting the source's range), or finds that very
// move under way. Refuses (Error kBadRequest) a target that is no shard, a range that spans
// locations or lies where it is going, and a range other moves hold.
MovePlan begin_move(pqxx::connection& control, int first, int last, const std::string& target);
// True once no live worker owns a partition of the range (control database) or holds one of its
// objects (the source, by its own clock).
bool range_unserved(pqxx::connection& control, pqxx::connection& source, const MovePlan& plan);
// On the source: the range's partitions lose their mirrored owner, then every transaction that
// might still have read that owner (a claim about to create an object) is waited for. After
// this no object of the range can appear or change there, except through a lock the copy holds.
void fence_source(pqxx::connection& source, const MovePlan& plan);
// Copies the range's objects' rows (objects with no owner and a bumped epoch, alarms unclaimed,
// stored replies, outbox, dead alarms and messages, commit audit) into the target, replacing
// what an earlier try left there. Each object's schema is renamed first to its own name
// (object_schema_name), unique across databases. Rows go rows_per_batch at a time (a large range
// never sits in memory whole), all in one target transaction. Returns the schemas to copy next.
constexpr std::size_t kMoveRowsPerBatch = 1000;
std::vector<std::string> copy_rows(pqxx::connection& source, pqxx::connection& target,
                                   const MovePlan& plan,
                                   std::size_t rows_per_batch = kMoveRowsPerBatch);
// The map gives the range to the target (state cleaning): its workers may claim it now.
void switch_move(pqxx::connection& control, const MovePlan& plan);
// Deletes the range's objects, their rows and schemas from the source. Returns how many went.
std::size_t clean_source(pqxx::connection& source, const MovePlan& plan);
// The move is over (state serving).
void finish_move(pqxx::connection& control, const MovePlan& plan);

}  // namespace dobj::store
