#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dobj/core/value.hpp"

namespace dobj {

struct ListOptions {
  std::string prefix;                // only keys starting with it
  std::optional<std::string> start;  // inclusive
  std::optional<std::string> end;    // exclusive
  std::optional<std::size_t> limit;
  bool reverse = false;  // descending key order; limit counts from the end
};

// An object's key-value storage (ctx.storage()). Writes become visible to the turn at once and
// durable with the turn's commit; a throwing turn's writes are discarded. Keys are 1-2048 bytes
// (Error kBadRequest otherwise); values at most 2 MiB encoded (Error kTooLarge); batch forms take
// at most 128 keys (Error kBadRequest). Keys order by their bytes.
class Storage {
 public:
  constexpr static std::size_t kMaxBatchKeys = 128;

  virtual ~Storage() = default;
  virtual std::optional<Value> get(const std::string& key) = 0;
  // The key's value converted to T (from_json), or `fallback` when the key is absent. A stored
  // value that does not convert throws nlohmann::json::type_error: the turn fails.
  template <typename T>
  T get_or(const std::string& key, T fallback) {
    auto value = get(key);
    return value ? value->template get<T>() : std::move(fallback);
  }
  // The present keys among `keys`, with their values.
  virtual std::map<std::string, Value> get_many(const std::vector<std::string>& keys) = 0;
  virtual void put(const std::string& key, Value value) = 0;
  virtual void put_many(std::vector<std::pair<std::string, Value>> entries) = 0;
  // Returns whether the key existed.
  virtual bool del(const std::string& key) = 0;
  // Returns how many of the keys existed.
  virtual std::size_t del_many(const std::vector<std::string>& keys) = 0;
  // Deletes every key. An object left with no keys and no SQL tables is deleted: its schema is
  // dropped with the commit.
  virtual void delete_all() = 0;
  virtual std::vector<std::pair<std::string, Value>> list(const ListOptions& options = {}) = 0;
};

}  // namespace dobj
