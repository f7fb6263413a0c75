// libFuzzer: the request path of a shard's turn with an in-memory store. Each input is up to
// four requests to one object of an example class (first byte: class and method; second: JSON or
// msgpack; then the body, requests separated by 0xff): checked as the worker checks them,
// decoded, run by the handler against the object's storage layers (KvState over a map that
// stands for the database, alarms, no SQL), answered with a reply, and committed into the map
// when the turn succeeded, as the shard does. Handlers must turn any argument into a reply.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "alarm_state.hpp"
#include "dobj/core/clock.hpp"
#include "dobj/core/error.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/runtime/context.hpp"
#include "dobj/runtime/sql.hpp"
#include "dobj/store/sql_result.hpp"
#include "example_registry.hpp"
#include "kv_state.hpp"
#include "request_check.hpp"

namespace {

using dobj::Value;

struct Target {
  const char* class_name;
  const char* method;
};
constexpr Target kTargets[] = {
    {"Counter", "inc"},      {"Counter", "get"},        {"Counter", "reset"},
    {"ChatRoom", "join"},    {"ChatRoom", "post"},      {"ChatRoom", "history"},
    {"Document", "write"},   {"Document", "read"},      {"Document", "history"},
    {"Document", "revert"},  {"Lock", "acquire"},       {"Lock", "release"},
    {"Lock", "holder"},      {"Lock", "$alarm"},        {"RateLimiter", "configure"},
    {"RateLimiter", "take"}, {"RateLimiter", "status"}, {"RateLimiter", "$alarm"},
};

// No database here: a handler's SQL fails as a failed statement would.
class NoSql final : public dobj::Sql {
 public:
  dobj::SqlResult exec_values(const std::string&, const std::vector<Value>&) override {
    throw dobj::SqlError("no SQL in the fuzzer", "58000");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto& target = kTargets[data[0] % std::size(kTargets)];
  const std::string object_id = "fuzz";
  std::map<std::string, std::string> database;  // key → encoded value, as committed
  dobj::KvState kv(dobj::KvState::Loader{[&](const std::string& key) -> std::optional<std::string> {
                                           auto it = database.find(key);
                                           if (it == database.end()) return std::nullopt;
                                           return it->second;
                                         },
                                         [&](const std::vector<std::string>& keys) {
                                           dobj::KvState::Rows rows;
                                           for (const auto& k : keys) {
                                             if (auto it = database.find(k); it != database.end())
                                               rows.emplace_back(*it);
                                           }
                                           return rows;
                                         },
                                         [&](const dobj::store::KeyRange&) {
                                           return dobj::KvState::Rows(database.begin(),
                                                                      database.end());
                                         }});
  dobj::AlarmState alarm(std::nullopt);
  NoSql sql;
  std::unique_ptr<dobj::Object> object;

  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (int turn = 0; turn < 4 && !rest.empty(); ++turn) {
    auto cut = rest.find('\xff');
    auto piece = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    if (piece.empty()) continue;
    dobj::InboundMessage m;
    m.subject = dobj::protocol::inbound_subject(
        dobj::protocol::partition_of(target.class_name, object_id, 256), target.class_name,
        object_id, target.method);
    m.content_type = (piece[0] & 1) ? "application/msgpack" : "application/json";
    m.body = std::string(piece.substr(1));
    dobj::ShardCommand command;
    std::vector<dobj::Event> events;
    dobj::protocol::Reply reply;
    bool ok = false;
    try {
      dobj::check_request(
          m, dobj::fuzz::example_registry(), {256, 1 << 20}, dobj::Clock::system(),
          [](int) { return true; }, command);
      dobj::Context ctx(target.class_name, object_id, kv, sql, alarm, events);
      if (!object) {
        object = command.def->factory();
        object->on_activate(ctx);
      }
      auto argument = dobj::protocol::decode_body(command.content_type, m.body);
      reply =
          dobj::protocol::ok_reply(command.content_type, (*command.method)(*object, ctx, argument));
      ok = true;
    } catch (const dobj::Error& e) {
      reply = dobj::protocol::error_reply(command.content_type, e);
    } catch (const std::exception& e) {
      reply = dobj::protocol::error_reply(command.content_type,
                                          dobj::Error(dobj::ErrorCode::kHandlerError, e.what()));
    }
    kv.end_turn(ok);
    alarm.end_turn(ok);
    if (!ok) {
      object.reset();  // rebuilt from storage, as after a failed turn
      continue;
    }
    auto [cleared, writes] = kv.pending_writes();
    if (cleared) database.clear();
    for (const auto& w : writes) {
      if (w.value) {
        database[w.key] = *w.value;
      } else {
        database.erase(w.key);
      }
    }
    kv.mark_committed();
    alarm.mark_committed();
  }
  return 0;
}
