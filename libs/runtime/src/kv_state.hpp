#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dobj/runtime/storage.hpp"
#include "dobj/store/object_store.hpp"

namespace dobj {

// An object's storage as three layers: what the database holds (loaded lazily), what earlier
// turns wrote since the last commit (pending), and what the current turn wrote. A turn's layer
// is merged into pending when the turn succeeds and dropped when it throws.
class KvState final : public Storage {
 public:
  struct Loader {
    std::function<std::optional<std::string>(const std::string& key)> one;
    std::function<std::vector<std::pair<std::string, std::string>>()> all;
  };

  explicit KvState(Loader loader) : loader_(std::move(loader)) {}

  std::optional<Value> get(const std::string& key) override;
  void put(const std::string& key, Value value) override;
  bool del(const std::string& key) override;
  std::vector<std::pair<std::string, Value>> list(const ListOptions& options) override;

  void end_turn(bool succeeded);
  bool has_pending() const { return !pending_.empty(); }
  // The pending writes, encoded, for the next commit.
  std::vector<store::KvWrite> pending_writes() const;
  // The commit holding the pending writes is durable: they become the loaded state.
  void mark_committed();

 private:
  // A write: the value (nullopt = deleted) and its msgpack encoding.
  struct Slot {
    std::optional<Value> value;
    std::string encoded;
  };
  const std::optional<Value>* find_written(const std::string& key) const;
  void write(const std::string& key, Slot slot);

  Loader loader_;
  std::map<std::string, std::optional<Value>> loaded_;  // nullopt: known absent
  bool fully_loaded_ = false;
  std::map<std::string, Slot> pending_;
  std::map<std::string, Slot> turn_;
};

}  // namespace dobj
