#pragma once

#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/outbox.hpp"

namespace dobj {

// What travels over a shard's inproc socket: ownership of a heap object passes with its pointer.
struct ShardCommand {
  enum class Kind { kMessage, kStop, kFence };
  Kind kind = Kind::kMessage;
  InboundMessage message;
  protocol::InboundSubject subject;
  protocol::ContentType content_type = protocol::ContentType::kJson;
  const ClassDef* def = nullptr;
  const MethodFn* method = nullptr;
};

}  // namespace dobj
