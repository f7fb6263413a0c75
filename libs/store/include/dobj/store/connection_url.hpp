#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace dobj::store {

// A database URL that may change while connections use it: a storage shard's map entry after
// `dobj shards set-url`. Copies share one value, so whoever holds a copy sees a set() made through
// any other; a LazyConnection of it connects anew at its holder's next safe point (stale()).
// Implicit from a string: most URLs never change.
class ConnectionUrl {
 public:
  ConnectionUrl(std::string url);  // NOLINT(google-explicit-constructor)
  ConnectionUrl(const char* url) : ConnectionUrl(std::string(url)) {}  // NOLINT
  ConnectionUrl() : ConnectionUrl(std::string()) {}

  std::string get() const;
  bool empty() const { return get().empty(); }
  // Moves on with every set() that changed the URL.
  std::uint64_t version() const { return state_->version.load(); }
  // False when `url` is the one already held.
  bool set(std::string url);

 private:
  struct State {
    std::mutex mutex;
    std::string url;
    std::atomic<std::uint64_t> version{0};
  };
  std::shared_ptr<State> state_;
};

}  // namespace dobj::store
