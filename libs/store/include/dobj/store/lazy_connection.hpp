#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "dobj/store/connection_url.hpp"

namespace dobj::store {

// A connection opened on first use, and again after reset(). The background loops (lease keeper,
// handover runner, housekeeper, schema pool filler, alarm timer) drop theirs on any failure and
// connect anew on their next step, rather than reuse one in an unknown state. When the URL changes
// (ConnectionUrl::set), the next get() connects by the new one: holders that keep something bound
// to the connection check stale() at a point where they can let it go.
class LazyConnection {
 public:
  explicit LazyConnection(ConnectionUrl url) : url_(std::move(url)) {}

  // The open connection; connects first when there is none, it closed or its URL changed (throws
  // Error kStorageError when it cannot).
  pqxx::connection& get();
  // Open, by a URL that has changed since.
  bool stale() const { return conn_ && version_ != url_.version(); }
  // fn(get()); a failure drops the connection (the next use connects anew) and goes on up.
  template <class Fn>
  decltype(auto) use(Fn&& fn) {
    try {
      return std::forward<Fn>(fn)(get());
    } catch (...) {
      reset();
      throw;
    }
  }
  // Closes the connection now; the next get() connects anew.
  void reset() { conn_.reset(); }
  bool is_open() const { return conn_ && conn_->is_open(); }
  std::string url() const { return url_.get(); }

 private:
  ConnectionUrl url_;
  std::uint64_t version_ = 0;  // url_'s when conn_ opened
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace dobj::store
