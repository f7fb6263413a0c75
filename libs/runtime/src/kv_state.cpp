#include "kv_state.hpp"

#include <algorithm>

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"
#include "dobj/core/text.hpp"
#include "dobj/protocol/limits.hpp"

namespace dobj {
namespace {

void check_key(const std::string& key) {
  if (key.empty() || key.size() > protocol::kMaxKeyBytes) {
    throw Error(ErrorCode::kBadRequest,
                "storage keys must be 1-" + std::to_string(protocol::kMaxKeyBytes) + " bytes");
  }
  if (!is_text(key)) {
    throw Error(ErrorCode::kBadRequest, "storage keys must be valid UTF-8 without NUL");
  }
}

// The bounds of a list travel to PostgreSQL as text too.
void check_bounds(const ListOptions& o) {
  for (const std::string* bound :
       {&o.prefix, o.start ? &*o.start : nullptr, o.end ? &*o.end : nullptr}) {
    if (bound && !is_text(*bound)) {
      throw Error(ErrorCode::kBadRequest, "list bounds must be valid UTF-8 without NUL");
    }
  }
}

void check_batch(std::size_t n) {
  if (n > Storage::kMaxBatchKeys) {
    throw Error(ErrorCode::kBadRequest, "a batch takes at most " +
                                            std::to_string(Storage::kMaxBatchKeys) + " keys, got " +
                                            std::to_string(n));
  }
}

bool in_range(const std::string& key, const ListOptions& o) {
  return key.starts_with(o.prefix) && (!o.start || key >= *o.start) && (!o.end || key < *o.end);
}

}  // namespace

std::optional<std::optional<Value>> KvState::known(const std::string& key) const {
  for (const Layer* layer : {&turn_, &pending_}) {
    if (auto it = layer->writes.find(key); it != layer->writes.end()) return it->second.value;
    if (layer->cleared) return std::optional<Value>();
  }
  if (auto it = loaded_.find(key); it != loaded_.end()) return it->second;
  if (fully_loaded_) return std::optional<Value>();
  return std::nullopt;
}

void KvState::remember(const Rows& rows) {
  for (const auto& [key, bytes] : rows) loaded_[key] = decode_msgpack(bytes);
}

std::optional<Value> KvState::get(const std::string& key) {
  check_key(key);
  if (auto k = known(key)) return *k;
  auto bytes = loader_.one(key);
  auto& slot = loaded_[key];
  if (bytes) slot = decode_msgpack(*bytes);
  return slot;
}

std::map<std::string, Value> KvState::get_many(const std::vector<std::string>& keys) {
  check_batch(keys.size());
  std::vector<std::string> missing;
  for (const auto& key : keys) {
    check_key(key);
    if (!known(key)) missing.push_back(key);
  }
  if (!missing.empty()) {
    for (const auto& key : missing) loaded_[key] = std::nullopt;
    remember(loader_.many(missing));
  }
  std::map<std::string, Value> out;
  for (const auto& key : keys) {
    if (auto v = *known(key)) out.emplace(key, std::move(*v));
  }
  return out;
}

KvState::Slot KvState::encode(const std::string& key, Value value) const {
  check_key(key);
  std::string encoded = encode_msgpack(value);
  if (encoded.size() > protocol::kMaxValueBytes) {
    throw Error(ErrorCode::kTooLarge,
                "value for key '" + key.substr(0, 64) + "' is " + std::to_string(encoded.size()) +
                    " bytes encoded; the limit is " + std::to_string(protocol::kMaxValueBytes));
  }
  return Slot{std::move(value), std::move(encoded)};
}

void KvState::put(const std::string& key, Value value) {
  turn_.writes[key] = encode(key, std::move(value));
}

void KvState::put_many(std::vector<std::pair<std::string, Value>> entries) {
  check_batch(entries.size());
  // All or nothing: every entry is checked before any is written.
  std::vector<Slot> slots;
  slots.reserve(entries.size());
  for (auto& [key, value] : entries) slots.push_back(encode(key, std::move(value)));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    turn_.writes[entries[i].first] = std::move(slots[i]);
  }
}

bool KvState::del(const std::string& key) {
  bool existed = get(key).has_value();
  turn_.writes[key] = Slot{std::nullopt, {}};
  return existed;
}

std::size_t KvState::del_many(const std::vector<std::string>& keys) {
  auto existing = get_many(keys);
  for (const auto& key : keys) turn_.writes[key] = Slot{std::nullopt, {}};
  return existing.size();
}

void KvState::delete_all() {
  turn_.writes.clear();
  turn_.cleared = true;
}

void KvState::load_everything() {
  loaded_.clear();
  remember(loader_.range(store::KeyRange{}));
  fully_loaded_ = true;
}

std::vector<std::pair<std::string, Value>> KvState::list(const ListOptions& options) {
  check_bounds(options);
  // The base: the database's keys in range. A bounded list of a lazily loaded object reads only
  // as many rows as can matter: the limit plus the keys deleted above it.
  std::map<std::string, const Value*> view;
  Rows fetched;
  if (!below_layers_hidden()) {
    if (fully_loaded_) {
      for (const auto& [key, value] : loaded_) {
        if (value && in_range(key, options)) view[key] = &*value;
      }
    } else {
      store::KeyRange range{options.prefix, options.start, options.end, options.limit,
                            options.reverse};
      if (range.limit) {
        for (const Layer* layer : {&pending_, &turn_}) {
          for (const auto& [key, slot] : layer->writes) {
            if (!slot.value && in_range(key, options)) ++*range.limit;
          }
        }
      }
      fetched = loader_.range(range);
      remember(fetched);
      if (!range.limit && options.prefix.empty() && !options.start && !options.end) {
        fully_loaded_ = true;
      }
      for (const auto& row : fetched) view[row.first] = &*loaded_[row.first];
    }
  }
  for (const Layer* layer : {&pending_, &turn_}) {
    if (layer == &turn_ && turn_.cleared) view.clear();
    for (const auto& [key, slot] : layer->writes) {
      if (!in_range(key, options)) continue;
      if (slot.value) {
        view[key] = &*slot.value;
      } else {
        view.erase(key);
      }
    }
  }
  std::vector<std::pair<std::string, Value>> out;
  auto take = [&](auto first, auto last) {
    for (auto it = first; it != last; ++it) {
      if (options.limit && out.size() >= *options.limit) break;
      out.emplace_back(it->first, *it->second);
    }
  };
  if (options.reverse) {
    take(view.rbegin(), view.rend());
  } else {
    take(view.begin(), view.end());
  }
  return out;
}

void KvState::end_turn(bool succeeded) {
  if (succeeded) {
    if (turn_.cleared) pending_ = Layer{{}, true};
    for (auto& [key, slot] : turn_.writes) pending_.writes[key] = std::move(slot);
  }
  turn_ = Layer{};
}

std::pair<bool, std::vector<store::KvWrite>> KvState::pending_writes() const {
  std::vector<store::KvWrite> writes;
  writes.reserve(pending_.writes.size());
  for (const auto& [key, slot] : pending_.writes) {
    writes.push_back(
        store::KvWrite{key, slot.value ? std::optional<std::string>(slot.encoded) : std::nullopt});
  }
  return {pending_.cleared, std::move(writes)};
}

void KvState::mark_committed() {
  if (pending_.cleared) {
    loaded_.clear();
    fully_loaded_ = true;  // the database now holds exactly the pending puts
  }
  for (auto& [key, slot] : pending_.writes) loaded_[key] = std::move(slot.value);
  pending_ = Layer{};
}

}  // namespace dobj
