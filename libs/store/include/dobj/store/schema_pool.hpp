#pragma once

#include <cstdint>

#include <pqxx/pqxx>

namespace dobj::store {

// The pool of ready, empty object schemas (migrations/0015_schema_pool.sql): an object's first
// write takes one as it is (dobj.take_object_schema, in its commit) instead of creating a schema,
// about a tenth of the database time. Workers fill it in the background (SchemaPoolFiller).

// One filling round in its own transaction: up to `batch` new ready schemas while fewer than
// `target` are ready. Returns how many it made; 0 also when another session is filling.
int fill_schema_pool(pqxx::connection& conn, int target, int batch);

// Ready schemas now (including ones a commit in flight is taking).
std::int64_t ready_schemas(pqxx::connection& conn);

}  // namespace dobj::store
