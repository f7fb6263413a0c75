#pragma once

#include "dobj/core/error.hpp"
#include "dobj/store/sql_result.hpp"

namespace dobj::store {

template <typename Fn>
auto with_storage_errors(const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const SqlError&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kStorageError, std::string(what) + ": " + e.what());
  }
}

}  // namespace dobj::store
