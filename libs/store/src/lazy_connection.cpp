#include "dobj/store/lazy_connection.hpp"

#include "dobj/store/database.hpp"

namespace dobj::store {

pqxx::connection& LazyConnection::get() {
  if (!is_open() || stale()) {
    conn_.reset();  // a closed one goes before its replacement opens
    version_ = url_.version();
    conn_ = connect(url_.get());
  }
  return *conn_;
}

}  // namespace dobj::store
