#pragma once

#include <pqxx/pqxx>

#include <memory>
#include <string>

namespace dobj::store {

// Opens a connection; an empty URL means libpq's defaults and PG* variables. Throws
// Error(kStorageError) with the server's reason.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

// Runs fn and turns libpqxx's failures into Error(kStorageError), keeping dobj::Error as is.
template <typename Fn>
auto with_storage_errors(const char* what, Fn&& fn) -> decltype(fn());

// Deletes at most `limit` rows of `table` matching `condition` (trusted SQL): housekeeping in
// small bites that never holds many locks. Returns how many went.
std::size_t delete_some(pqxx::connection& conn, const std::string& table,
                        const std::string& condition, std::size_t limit);

// Quotes an identifier such as a per-object schema name.
std::string quote_ident(const std::string& name);

}  // namespace dobj::store

#include "dobj/store/database_inl.hpp"
