#include "dobj/store/lazy_connection.hpp"

#include "dobj/store/database.hpp"

namespace dobj::store {

pqxx::connection& LazyConnection::get() {
  if (!is_open()) {
    conn_.reset();  // a closed one goes before its replacement opens
    conn_ = connect(url_);
  }
  return *conn_;
}

}  // namespace dobj::store
