#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "dobj/core/periodic_task.hpp"
#include "dobj/store/lazy_connection.hpp"

namespace dobj {

// Keeps dobj.schema_pool at `target` ready schemas (store/schema_pool.hpp), on its own thread and
// connection: a round makes at most kBatch in one transaction and the next waits kPause, so that
// refilling takes at most about a third of one PostgreSQL core from the objects' commits. While a
// burst of first writes takes more than kBatch schemas per round, it waits: creating schemas
// changes the catalog, which makes every backend (the shards' too) drop its cached plans, so
// refilling during a burst slows the burst more than it feeds it. One worker fills at a time (an
// advisory lock); the others' rounds find it held and wait kIdle.
// Lifecycle: start() → stop(); step() runs one round (the test hook).
class SchemaPoolFiller {
 public:
  constexpr static int kDefaultTarget = 256;
  constexpr static int kBatch = 32;
  constexpr static std::chrono::milliseconds kPause{100};
  constexpr static std::chrono::milliseconds kIdle{1'000};
  // A backend keeps cache entries for every relation it created (DESIGN.md's per-object schema
  // price): the connection is replaced after this many schemas.
  constexpr static int kSchemasPerConnection = 2'048;

  SchemaPoolFiller(store::ConnectionUrl database_url, int target);
  ~SchemaPoolFiller();
  void start() { task_.start(); }
  void stop() { task_.stop(); }
  // One round on the caller's thread (the test hook; not while started): how many it made.
  int step();

 private:
  std::chrono::milliseconds round();

  store::LazyConnection conn_;
  int target_;
  int made_on_connection_ = 0;
  int last_made_ = 0;
  std::int64_t ready_after_last_round_ = -1;  // -1: no round yet
  PeriodicTask task_;
};

}  // namespace dobj
