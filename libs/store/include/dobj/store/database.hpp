#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <memory>
#include <string>

namespace dobj::store {

// Opens a connection; an empty URL means libpq's defaults and PG* variables. Throws
// Error(kStorageError) with the server's reason.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

// Bounds one call on `conn` from the client side by ConnectionLimits::current().call_timeout: a
// call still running then has its socket shut down, so libpq fails it as a broken connection
// (for a server that does not answer at all, which no server-side timeout can catch).
class CallDeadline {
 public:
  explicit CallDeadline(pqxx::connection& conn);
  ~CallDeadline();
  CallDeadline(const CallDeadline&) = delete;
  CallDeadline& operator=(const CallDeadline&) = delete;

 private:
  std::uint64_t ticket_ = 0;
};

// Runs fn and turns libpqxx's failures into Error(kStorageError), keeping dobj::Error as is.
template <typename Fn>
auto with_storage_errors(const char* what, Fn&& fn) -> decltype(fn());
// The same, for calls on `conn`, bounded by a CallDeadline.
template <typename Fn>
auto with_storage_errors(pqxx::connection& conn, const char* what, Fn&& fn) -> decltype(fn());

// Deletes at most `limit` rows of `table` matching `condition` (trusted SQL): housekeeping in
// small bites that never holds many locks. Returns how many went.
std::size_t delete_some(pqxx::connection& conn, const std::string& table,
                        const std::string& condition, std::size_t limit);

// Quotes an identifier such as a per-object schema name.
std::string quote_ident(const std::string& name);

}  // namespace dobj::store

#include "dobj/store/database_inl.hpp"
