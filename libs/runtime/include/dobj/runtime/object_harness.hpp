#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dobj/core/clock.hpp"
#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/context.hpp"

namespace dobj {

// Runs one object of a registered class the way a shard does, in memory: each call() is a turn
// (a throwing handler leaves no trace), storage commits into a map standing for its database,
// alarms are kept, events and sent messages are collected, and the wall clock moves only when
// the test says so. No PostgreSQL, no NATS: for unit tests of classes (handler SQL fails as a
// failed statement would).
//   ObjectHarness lock(registry, "Lock", "door");
//   lock.call("acquire", {{"holder", "ada"}, {"ttl_ms", 1000}});
//   lock.clock().advance(2s);
//   EXPECT_TRUE(lock.fire_due_alarm());
class ObjectHarness {
 public:
  ObjectHarness(const ClassRegistry& registry, std::string class_name, std::string object_id);
  ~ObjectHarness();

  // One turn of `method`: its result, or the Error a reply would carry (a handler's other
  // exceptions as handler_error).
  Value call(const std::string& method, const Value& argument = nullptr);
  // Runs the alarm handler as dobj-timer would, if the alarm is due by the clock. False when no
  // alarm is set or it is not due yet.
  bool fire_due_alarm(int retry_count = 0);
  std::optional<WallTime> alarm() const;
  // Events of committed turns since the last call, as published (topic and payload).
  std::vector<Event> take_events();
  // Durable messages (Context::send) of committed turns since the last call, in send order.
  struct SentMessage {
    std::string class_name;
    std::string object_id;
    std::string method;
    Value argument;
  };
  std::vector<SentMessage> take_sent();
  // Awaited calls (Context::call) of committed turns since the last take, in order. A turn that
  // made one answers nothing itself; resume() plays the callee's part and returns the answer
  // the request then gets (the continuation's, or its Error thrown).
  struct MadeCall {
    std::string class_name;
    std::string object_id;
    std::string method;
    Value argument;
    std::string then;
    Value carry;
  };
  std::vector<MadeCall> take_calls();
  Value resume(const MadeCall& call, const Value& result);
  Value resume(const MadeCall& call, const Error& error);
  // What the object has stored, encoded (msgpack), key by key.
  const std::map<std::string, std::string>& stored() const;
  // Drops the object from memory: the next call activates it from what it stored.
  void evict();
  ManualWallClock& clock() { return clock_; }

 private:
  struct State;
  Value resume_with(const MadeCall& call, CallResult result);
  ManualWallClock clock_;
  std::unique_ptr<State> state_;
};

}  // namespace dobj
