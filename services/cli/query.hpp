#pragma once

#include <pqxx/pqxx>

#include <string>
#include <utility>

#include "dobj/store/database.hpp"

namespace dobj::cli {

// One read (the admin views, the dobj tables) outside a transaction, as every listing command
// makes it; a failure is an Error (kStorageError) that says what was being read.
template <class... Params>
pqxx::result query(pqxx::connection& db, const char* what, const std::string& sql,
                   Params&&... params) {
  return store::with_storage_errors(what, [&] {
    pqxx::nontransaction tx(db);
    return tx.exec_params(sql, std::forward<Params>(params)...);
  });
}

}  // namespace dobj::cli
