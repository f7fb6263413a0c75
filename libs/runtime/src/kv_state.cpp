#include "kv_state.hpp"

#include <algorithm>

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"
#include "dobj/protocol/limits.hpp"

namespace dobj {
namespace {

void check_key(const std::string& key) {
  if (key.empty() || key.size() > protocol::kMaxKeyBytes) {
    throw Error(ErrorCode::kBadRequest,
                "storage keys must be 1-" + std::to_string(protocol::kMaxKeyBytes) + " bytes");
  }
}

}  // namespace

const std::optional<Value>* KvState::find_written(const std::string& key) const {
  if (auto it = turn_.find(key); it != turn_.end()) return &it->second.value;
  if (auto it = pending_.find(key); it != pending_.end()) return &it->second.value;
  return nullptr;
}

std::optional<Value> KvState::get(const std::string& key) {
  check_key(key);
  if (const auto* written = find_written(key)) return *written;
  if (auto it = loaded_.find(key); it != loaded_.end()) return it->second;
  if (fully_loaded_) return std::nullopt;
  auto bytes = loader_.one(key);
  auto& slot = loaded_[key];
  if (bytes) slot = decode_msgpack(*bytes);
  return slot;
}

void KvState::put(const std::string& key, Value value) {
  check_key(key);
  std::string encoded = encode_msgpack(value);
  if (encoded.size() > protocol::kMaxValueBytes) {
    throw Error(ErrorCode::kTooLarge,
                "value for key '" + key.substr(0, 64) + "' is " + std::to_string(encoded.size()) +
                    " bytes encoded; the limit is " + std::to_string(protocol::kMaxValueBytes));
  }
  write(key, Slot{std::move(value), std::move(encoded)});
}

bool KvState::del(const std::string& key) {
  bool existed = get(key).has_value();
  write(key, Slot{std::nullopt, {}});
  return existed;
}

void KvState::write(const std::string& key, Slot slot) {
  turn_[key] = std::move(slot);
}

std::vector<std::pair<std::string, Value>> KvState::list(const ListOptions& options) {
  if (!fully_loaded_) {
    // The database is the committed state; keys loaded one by one already agree with it.
    loaded_.clear();
    for (auto& [key, bytes] : loader_.all()) loaded_[key] = decode_msgpack(bytes);
    fully_loaded_ = true;
  }
  std::map<std::string, const Value*> view;
  auto overlay = [&](const auto& layer) {
    for (const auto& [key, v] : layer) {
      const std::optional<Value>& value = [&]() -> const std::optional<Value>& {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Slot>) {
          return v.value;
        } else {
          return v;
        }
      }();
      if (value) {
        view[key] = &*value;
      } else {
        view.erase(key);
      }
    }
  };
  overlay(loaded_);
  overlay(pending_);
  overlay(turn_);

  auto in_range = [&](const std::string& key) {
    return key.starts_with(options.prefix) && (!options.start || key >= *options.start) &&
           (!options.end || key < *options.end);
  };
  std::vector<std::pair<std::string, Value>> out;
  auto take = [&](auto first, auto last) {
    for (auto it = first; it != last; ++it) {
      if (options.limit && out.size() >= *options.limit) break;
      if (in_range(it->first)) out.emplace_back(it->first, *it->second);
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
    for (auto& [key, slot] : turn_) pending_[key] = std::move(slot);
  }
  turn_.clear();
}

std::vector<store::KvWrite> KvState::pending_writes() const {
  std::vector<store::KvWrite> writes;
  writes.reserve(pending_.size());
  for (const auto& [key, slot] : pending_) {
    writes.push_back(
        store::KvWrite{key, slot.value ? std::optional<std::string>(slot.encoded) : std::nullopt});
  }
  return writes;
}

void KvState::mark_committed() {
  for (auto& [key, slot] : pending_) loaded_[key] = std::move(slot.value);
  pending_.clear();
}

}  // namespace dobj
