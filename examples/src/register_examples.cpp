#include "dobj/examples/register_examples.hpp"

#include "chat_room.hpp"
#include "counter.hpp"

namespace dobj::examples {

void register_examples(ClassRegistry& registry) {
  registry.add<Counter>("Counter")
      .method("inc", &Counter::inc)
      .method("get", &Counter::get)
      .method("reset", &Counter::reset);
  registry.add<ChatRoom>("ChatRoom")
      .method("join", &ChatRoom::join)
      .method("post", &ChatRoom::post)
      .method("history", &ChatRoom::history);
}

}  // namespace dobj::examples
