#pragma once

#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <utility>

namespace dobj::store {

// A connection opened on first use, and again after reset(). The background loops (lease keeper,
// handover runner, housekeeper, schema pool filler, alarm timer) drop theirs on any failure and
// connect anew on their next step, rather than reuse one in an unknown state.
class LazyConnection {
 public:
  explicit LazyConnection(std::string url) : url_(std::move(url)) {}

  // The open connection; connects first when there is none or it closed (throws Error
  // kStorageError when it cannot).
  pqxx::connection& get();
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
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace dobj::store
