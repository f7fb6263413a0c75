#pragma once

#include <string>
#include <vector>

#include "dobj/core/value.hpp"
#include "dobj/runtime/sql.hpp"
#include "dobj/runtime/storage.hpp"

namespace dobj {

// An event published by a turn; it leaves only after the turn's commit.
struct Event {
  std::string topic;
  Value payload;
};

// What a handler sees of the world during one turn.
class Context {
 public:
  Context(const std::string& class_name, const std::string& object_id, Storage& storage, Sql& sql,
          std::vector<Event>& events)
      : class_name_(class_name),
        object_id_(object_id),
        storage_(storage),
        sql_(sql),
        events_(events) {}

  const std::string& class_name() const { return class_name_; }
  const std::string& object_id() const { return object_id_; }
  Storage& storage() { return storage_; }
  Sql& sql() { return sql_; }
  // Publishes to evt.<class>.<id>.<topic> after the turn commits. topic: 1-64 bytes of
  // [A-Za-z0-9_-], Error(kBadRequest) otherwise.
  void publish(const std::string& topic, Value payload);

 private:
  const std::string& class_name_;
  const std::string& object_id_;
  Storage& storage_;
  Sql& sql_;
  std::vector<Event>& events_;
};

}  // namespace dobj
