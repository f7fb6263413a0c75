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

// An object's storage as three layers: what the database holds (loaded lazily or eagerly), what
// earlier turns wrote since the last commit (pending), and what the current turn wrote. A turn's
// layer is merged into pending when the turn succeeds and dropped when it throws.
class KvState final : public Storage {
 public:
  using Rows = std::vector<std::pair<std::string, std::string>>;
  struct Loader {
    std::function<std::optional<std::string>(const std::string& key)> one;
    std::function<Rows(const std::vector<std::string>& keys)> many;
    std::function<Rows(const store::KeyRange& range)> range;  // an empty range is everything
  };

  explicit KvState(Loader loader) : loader_(std::move(loader)) {}

  std::optional<Value> get(const std::string& key) override;
  std::map<std::string, Value> get_many(const std::vector<std::string>& keys) override;
  void put(const std::string& key, Value value) override;
  void put_many(std::vector<std::pair<std::string, Value>> entries) override;
  bool del(const std::string& key) override;
  std::size_t del_many(const std::vector<std::string>& keys) override;
  void delete_all() override;
  std::vector<std::pair<std::string, Value>> list(const ListOptions& options) override;

  // Loads every key now (eager activation).
  void load_everything();
  void end_turn(bool succeeded);
  bool has_pending() const { return !pending_.writes.empty() || pending_.cleared; }
  // The pending writes, encoded, for the next commit: (delete everything first?, writes).
  std::pair<bool, std::vector<store::KvWrite>> pending_writes() const;
  // The commit holding the pending writes is durable: they become the loaded state.
  void mark_committed();

 private:
  // A write: the value (nullopt = deleted) and its msgpack encoding.
  struct Slot {
    std::optional<Value> value;
    std::string encoded;
  };
  // Writes layered over what lies beneath; `cleared` hides everything beneath (delete_all).
  struct Layer {
    std::map<std::string, Slot> writes;
    bool cleared = false;
  };
  // The value as the turn sees it, if the layers or the loaded state know it.
  std::optional<std::optional<Value>> known(const std::string& key) const;
  Slot encode(const std::string& key, Value value) const;
  void remember(const Rows& rows);
  bool below_layers_hidden() const { return pending_.cleared || turn_.cleared; }

  Loader loader_;
  std::map<std::string, std::optional<Value>> loaded_;  // the database; nullopt: known absent
  bool fully_loaded_ = false;
  Layer pending_;
  Layer turn_;
};

}  // namespace dobj
