#include "dobj/runtime/object_harness.hpp"

#include "alarm_state.hpp"
#include "dobj/core/error.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/store/sql_result.hpp"
#include "kv_state.hpp"

namespace dobj {

struct ObjectHarness::State {
  class NoSql final : public Sql {
   public:
    SqlResult exec_values(const std::string&, const std::vector<Value>&) override {
      throw SqlError("ObjectHarness has no database: test SQL against a real one", "58000");
    }
  };

  const ClassDef* def = nullptr;
  std::string class_name;
  std::string object_id;
  std::map<std::string, std::string> database;  // committed, encoded
  std::unique_ptr<KvState> kv;
  AlarmState alarm{std::nullopt};
  std::unique_ptr<Object> object;
  std::vector<Event> events;
  std::vector<SentMessage> sent;
  std::vector<MadeCall> calls;
  NoSql sql;

  void reset_storage() {
    kv = std::make_unique<KvState>(
        KvState::Loader{[this](const std::string& key) -> std::optional<std::string> {
                          auto it = database.find(key);
                          if (it == database.end()) return std::nullopt;
                          return it->second;
                        },
                        [this](const std::vector<std::string>& keys) {
                          KvState::Rows rows;
                          for (const auto& k : keys) {
                            if (auto it = database.find(k); it != database.end())
                              rows.emplace_back(*it);
                          }
                          return rows;
                        },
                        [this](const store::KeyRange& range) { return load_range(range); }});
  }

  // What the database's range query returns (ObjectStore::load_range): the keys with the
  // prefix in [start, end), in order or reversed, at most `limit`. KvState relies on the bounds.
  KvState::Rows load_range(const store::KeyRange& range) const {
    KvState::Rows rows;
    auto collect = [&](auto first, auto last) {
      for (; first != last && (!range.limit || rows.size() < *range.limit); ++first) {
        const auto& key = first->first;
        if (key.starts_with(range.prefix) && (!range.start || key >= *range.start) &&
            (!range.end || key < *range.end)) {
          rows.emplace_back(*first);
        }
      }
    };
    if (range.reverse) {
      collect(database.rbegin(), database.rend());
    } else {
      collect(database.begin(), database.end());
    }
    return rows;
  }

  // One turn as the shard runs it: everything or nothing.
  Value turn(const ManualWallClock& clock, const std::function<Value(Context&)>& fn) {
    std::vector<Event> turn_events;
    std::vector<OutboundMessage> turn_messages;
    Context ctx(class_name, object_id, *kv, sql, alarm, turn_events, turn_messages, clock);
    try {
      if (!object) {
        object = def->factory();
        object->on_activate(ctx);
      }
      ctx.allow_calls(*def, 0);
      Value result = fn(ctx);
      kv->end_turn(true);
      alarm.end_turn(true);
      commit();
      events.insert(events.end(), turn_events.begin(), turn_events.end());
      for (auto& m : turn_messages) {
        auto argument = protocol::decode_body(protocol::ContentType::kMsgpack, m.body);
        if (m.event) {
          events.push_back(Event{m.method, std::move(argument)});  // as the worker publishes it
        } else if (m.call) {
          calls.push_back(MadeCall{m.target_class, m.target_id, m.method, std::move(argument),
                                   m.call->then, m.call->carry});
        } else {
          sent.push_back(SentMessage{m.target_class, m.target_id, m.method, std::move(argument)});
        }
      }
      return result;
    } catch (...) {
      kv->end_turn(false);
      alarm.end_turn(false);
      object.reset();  // members may have changed: activate again from storage
      throw;
    }
  }

  // A turn whose failures read as a reply's would: Error as thrown, anything else
  // handler_error.
  Value checked_turn(const ManualWallClock& clock, const std::function<Value(Context&)>& fn) {
    try {
      return turn(clock, fn);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kHandlerError, e.what());
    }
  }

  void commit() {
    auto [cleared, writes] = kv->pending_writes();
    if (cleared) database.clear();
    for (const auto& w : writes) {
      if (w.value) {
        database[w.key] = *w.value;
      } else {
        database.erase(w.key);
      }
    }
    kv->mark_committed();
    alarm.mark_committed();
  }
};

ObjectHarness::ObjectHarness(const ClassRegistry& registry, std::string class_name,
                             std::string object_id)
    : state_(std::make_unique<State>()) {
  state_->def = registry.find(class_name);
  if (!state_->def) throw Error(ErrorCode::kNoSuchClass, "no class '" + class_name + "'");
  state_->class_name = std::move(class_name);
  state_->object_id = std::move(object_id);
  state_->reset_storage();
}

ObjectHarness::~ObjectHarness() = default;

Value ObjectHarness::call(const std::string& method, const Value& argument) {
  const MethodFn* fn = state_->def->find_method(method);
  if (!fn || method == kAlarmMethod) {
    throw Error(ErrorCode::kNoSuchMethod,
                "class '" + state_->class_name + "' has no method '" + method + "'");
  }
  return state_->checked_turn(clock_,
                              [&](Context& ctx) { return (*fn)(*state_->object, ctx, argument); });
}

bool ObjectHarness::fire_due_alarm(int retry_count) {
  auto due = state_->alarm.get();
  if (!due || *due > to_epoch_micros(clock_.now())) return false;
  const MethodFn* fn = state_->def->find_method(kAlarmMethod);
  if (!fn) throw Error(ErrorCode::kNoSuchMethod, "class has no alarm handler");
  state_->turn(clock_, [&](Context& ctx) {
    state_->alarm.delete_if_due(*due);
    return (*fn)(*state_->object, ctx, Value{{"due_at_us", *due}, {"retry_count", retry_count}});
  });
  return true;
}

std::optional<WallTime> ObjectHarness::alarm() const {
  auto at = state_->alarm.get();
  if (!at) return std::nullopt;
  return from_epoch_micros(*at);
}

std::vector<ObjectHarness::SentMessage> ObjectHarness::take_sent() {
  return std::exchange(state_->sent, {});
}

std::vector<ObjectHarness::MadeCall> ObjectHarness::take_calls() {
  return std::exchange(state_->calls, {});
}

Value ObjectHarness::resume(const MadeCall& call, const Value& result) {
  return resume_with(call, CallResult{true, result, std::nullopt, call.carry});
}

Value ObjectHarness::resume(const MadeCall& call, const Error& error) {
  return resume_with(call, CallResult{false, nullptr, error, call.carry});
}

Value ObjectHarness::resume_with(const MadeCall& call, CallResult result) {
  auto it = state_->def->continuations.find(call.then);
  if (it == state_->def->continuations.end()) {
    throw Error(ErrorCode::kHandlerError, "no continuation '" + call.then + "'");
  }
  return state_->checked_turn(
      clock_, [&](Context& ctx) { return it->second(*state_->object, ctx, result); });
}

std::vector<Event> ObjectHarness::take_events() {
  return std::exchange(state_->events, {});
}

const std::map<std::string, std::string>& ObjectHarness::stored() const {
  return state_->database;
}

void ObjectHarness::evict() {
  if (state_->object) state_->object->on_deactivate();
  state_->object.reset();
  state_->reset_storage();
}

}  // namespace dobj
