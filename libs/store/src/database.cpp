#include "dobj/store/database.hpp"

#include "dobj/store/connection_limits.hpp"

namespace dobj::store {

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
  auto limits = ConnectionLimits::current();
  auto conn = with_storage_errors("cannot connect to PostgreSQL", [&] {
    return std::make_unique<pqxx::connection>(limits.apply_to(url));
  });
  with_storage_errors(*conn, "setting the statement timeout", [&] {
    pqxx::nontransaction(*conn).exec0("SET statement_timeout = " +
                                      std::to_string(limits.statement_timeout.count()));
  });
  return conn;
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::size_t delete_some(pqxx::connection& conn, const std::string& table,
                        const std::string& condition, std::size_t limit) {
  return with_storage_errors(conn, "deleting old rows", [&] {
    pqxx::nontransaction tx(conn);
    return tx
        .exec_params("DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table +
                         " WHERE " + condition + " LIMIT $1))",
                     static_cast<std::int64_t>(limit))
        .affected_rows();
  });
}

}  // namespace dobj::store
