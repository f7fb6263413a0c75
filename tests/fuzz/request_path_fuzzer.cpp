// libFuzzer: the request path of a turn with an in-memory store. Each input is up to four requests
// to one object of an example class (first byte: class and method; each request's first byte:
// bit 0 msgpack or JSON, the others how far the wall clock moves first; then the body; requests
// separated by 0xff): checked as the worker checks them, decoded, run as a turn by ObjectHarness
// (storage layers committed into a map, alarms, a manual wall clock, no SQL), and answered. An
// $alarm target fires the object's alarm when due. Handlers must turn any argument into a reply.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dobj/core/clock.hpp"
#include "dobj/core/error.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/runtime/object_harness.hpp"
#include "example_registry.hpp"
#include "request_check.hpp"

namespace {

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto& target = kTargets[data[0] % std::size(kTargets)];
  const std::string object_id = "fuzz";
  const auto& registry = dobj::fuzz::example_registry();
  dobj::ObjectHarness object(registry, target.class_name, object_id);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (int turn = 0; turn < 4 && !rest.empty(); ++turn) {
    auto cut = rest.find('\xff');
    auto piece = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    if (piece.empty()) continue;
    auto control = static_cast<std::uint8_t>(piece[0]);
    object.clock().advance(std::chrono::milliseconds(37 * (control >> 1)));
    dobj::InboundMessage m;
    m.subject = dobj::protocol::inbound_subject(
        dobj::protocol::partition_of(target.class_name, object_id, 256), target.class_name,
        object_id, target.method);
    m.content_type = (control & 1) ? "application/msgpack" : "application/json";
    m.body = std::string(piece.substr(1));
    dobj::ShardCommand command;
    dobj::protocol::Reply reply;
    try {
      dobj::check_request(
          m, registry, {256, 1 << 20}, dobj::Clock::system(), [](int) { return true; }, command);
      auto argument = dobj::protocol::decode_body(command.content_type, m.body);
      dobj::Value result;
      if (std::string_view(target.method) == dobj::kAlarmMethod) {
        result = object.fire_due_alarm();
      } else {
        result = object.call(target.method, argument);
      }
      reply = dobj::protocol::ok_reply(command.content_type, result);
    } catch (const dobj::Error& e) {
      reply = dobj::protocol::error_reply(command.content_type, e);
    }
    (void)object.take_events();
  }
  return 0;
}
