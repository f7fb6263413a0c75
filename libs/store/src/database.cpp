#include "dobj/store/database.hpp"

namespace dobj::store {

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
  return with_storage_errors("cannot connect to PostgreSQL",
                             [&] { return std::make_unique<pqxx::connection>(url); });
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

}  // namespace dobj::store
