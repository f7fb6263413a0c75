#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "dobj/core/clock.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/runtime/sql.hpp"
#include "dobj/runtime/storage.hpp"

namespace dobj {

class AlarmState;
struct ClassDef;
using WallTime = std::chrono::system_clock::time_point;

// What an alarm handler learns (DESIGN.md §6): delivery is at-least-once, and a retry says so.
struct AlarmInfo {
  int retry_count = 0;
  bool is_retry = false;
};

// An event published by a turn; it leaves only after the turn's commit.
struct Event {
  std::string topic;
  Value payload;
};

// An awaited call's side of the caller (Context::call): the continuation it resumes in.
struct PendingCall {
  std::string then;  // the continuation's name
  Value carry;
  std::chrono::milliseconds timeout{0};
};

// A durable one-way message a turn sends (Context::send); it is stored with the turn's commit.
struct OutboundMessage {
  std::string target_class;  // "" for a durable event
  std::string target_id;
  std::string method;                 // an event's topic
  std::string body;                   // the argument (an event's payload), msgpack
  bool event = false;                 // Context::publish_durable
  std::optional<PendingCall> call{};  // Context::call
};

// What a continuation learns of the call it awaited (Context::call).
struct CallResult {
  bool ok = false;
  Value value;                 // the callee's result, when ok
  std::optional<Error> error;  // the callee's error, or timeout, when not ok
  Value carry;                 // what the calling turn handed on
  // The result, or the callee's error thrown: a continuation that does not handle errors
  // answers its client with the callee's.
  const Value& get() const {
    if (!ok) throw *error;
    return value;
  }
};

// What a handler sees of the world during one turn.
class Context {
 public:
  Context(const std::string& class_name, const std::string& object_id, Storage& storage, Sql& sql,
          AlarmState& alarm, std::vector<Event>& events, std::vector<OutboundMessage>& messages,
          const WallClock& wall_clock = WallClock::system())
      : class_name_(class_name),
        object_id_(object_id),
        storage_(storage),
        sql_(sql),
        alarm_(alarm),
        events_(events),
        messages_(messages),
        wall_clock_(wall_clock) {}

  // At most this many durable messages per turn (Error(kBadRequest) beyond).
  static constexpr std::size_t kMaxSendsPerTurn = 1000;

  const std::string& class_name() const { return class_name_; }
  const std::string& object_id() const { return object_id_; }
  // The wall time to decide by (expiries, refills, alarm times): use it rather than
  // system_clock, so that the class can be tested at any time (ObjectHarness).
  WallTime now() const { return wall_clock_.now(); }
  Storage& storage() { return storage_; }
  Sql& sql() { return sql_; }
  // Publishes to evt.<class>.<id>.<topic> after the turn commits. topic: 1-64 bytes of
  // [A-Za-z0-9_-], Error(kBadRequest) otherwise.
  void publish(const std::string& topic, Value payload);
  // The same event, at least once: stored with the turn's commit (dobj.outbox, in order with
  // this object's durable messages) and published by the worker delivering them, with a stable
  // Nats-Msg-Id header (send:<sha256 of class and id>:<seq>) so that a JetStream stream on evt.>
  // keeps one copy. Counts towards kMaxSendsPerTurn.
  void publish_durable(const std::string& topic, const Value& payload);

  // The object's one alarm, written with the turn's commit: a failing turn's alarm is never set.
  // When it is due, dobj-timer runs the class's alarm handler as a turn; that turn's commit
  // deletes the alarm unless the handler sets another.
  void set_alarm(WallTime at);
  std::optional<WallTime> get_alarm() const;
  void delete_alarm();

  // A durable one-way message to <class>.<id>.<method> (DESIGN.md §5): stored in this turn's
  // commit (nothing is sent if the turn fails), then delivered at least once and applied once by
  // the target, in send order from this object to each target. No reply comes back; a target
  // that refuses it for good (no such class or method, bad_request, handler_error) puts it in
  // dobj.dead_messages. Bad names, a `$` method, an argument that does not encode or is over
  // kDefaultMaxBodyBytes, or more than kMaxSendsPerTurn: Error(kBadRequest), at once.
  void send(const std::string& class_name, const std::string& object_id, const std::string& method,
            const Value& argument = nullptr);

  // An awaited call (DESIGN.md §5) of <class>.<id>.<method>(argument): it leaves after this
  // turn's commit (output gate) and the object goes on serving its other messages meanwhile.
  // The callee's result, its error, or `timeout` after `timeout` then runs the continuation
  // `then` (ClassRegistry::Builder::continuation) as a turn of its own, with `carry` and the
  // object's state as it is then; that turn's return value (or error) is the reply to this
  // turn's request, which gets none of its own. The callee applies the call once however often
  // a failover makes it resend (idempotency key call:<sha256 of this object>:<seq>).
  // One call per turn; not from on_activate; chains of at most protocol::kMaxCallDepth objects;
  // timeout 1 ms .. protocol::kMaxCallTimeout. Anything else, or send's refusals:
  // Error(kBadRequest), at once.
  void call(const std::string& class_name, const std::string& object_id, const std::string& method,
            const Value& argument, const std::string& then, Value carry = nullptr,
            std::chrono::milliseconds timeout = protocol::kDefaultCallTimeout);

  // The shard's side: calls are allowed in this turn, which runs in a chain of `depth` waiting
  // objects (0: a client's request), for an object of `def`.
  void allow_calls(const ClassDef& def, int depth) {
    def_ = &def;
    depth_ = depth;
  }

 private:
  static void require_target(const std::string& what, const std::string& class_name,
                             const std::string& object_id, const std::string& method);
  void queue_message(OutboundMessage message, const Value& argument);

  const std::string& class_name_;
  const std::string& object_id_;
  Storage& storage_;
  Sql& sql_;
  AlarmState& alarm_;
  std::vector<Event>& events_;
  std::vector<OutboundMessage>& messages_;
  const WallClock& wall_clock_;
  const ClassDef* def_ = nullptr;  // set: calls are allowed
  int depth_ = 0;
};

}  // namespace dobj
