#pragma once

#include <pqxx/pqxx>

#include <atomic>
#include <cstdint>

#include "dobj/core/error.hpp"
#include "dobj/store/sql_result.hpp"

namespace dobj::store {

// PostgreSQL failures this process met (metrics: dobj_pg_errors_total).
inline std::atomic<std::uint64_t> storage_error_count{0};

template <typename Fn>
auto with_storage_errors(const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const SqlError&) {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    ++storage_error_count;
    // The connection broke while COMMIT was under way: applied or not, nobody can say here.
    throw Error(ErrorCode::kUnknownOutcome, std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    ++storage_error_count;
    throw Error(ErrorCode::kStorageError, std::string(what) + ": " + e.what());
  }
}

template <typename Fn>
auto with_storage_errors(pqxx::connection& conn, const char* what, Fn&& fn) -> decltype(fn()) {
  CallDeadline deadline(conn);
  return with_storage_errors(what, std::forward<Fn>(fn));
}

}  // namespace dobj::store
