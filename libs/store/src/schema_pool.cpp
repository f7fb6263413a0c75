#include "dobj/store/schema_pool.hpp"

#include "dobj/store/database.hpp"

namespace dobj::store {

int fill_schema_pool(pqxx::connection& conn, int target, int batch) {
  return with_storage_errors(conn, "filling the schema pool", [&] {
    pqxx::work tx(conn);
    auto made = tx.exec_params1("SELECT dobj.fill_schema_pool($1, $2)", target, batch)[0].as<int>();
    tx.commit();
    return made;
  });
}

std::int64_t ready_schemas(pqxx::connection& conn) {
  return with_storage_errors(conn, "counting ready schemas", [&] {
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT count(*) FROM dobj.schema_pool")[0].as<std::int64_t>();
  });
}

}  // namespace dobj::store
