#pragma once

#include <cstddef>
#include <functional>

#include "dobj/core/clock.hpp"
#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/outbox.hpp"
#include "shard_command.hpp"

namespace dobj {

struct RequestLimits {
  int partitions = 0;
  std::size_t max_body_bytes = 0;
};

// What a message must be before a shard sees it (schemas/protocol.md, "Limits"): fills the
// command's content type first (the reply's, even for a refusal), then subject, class, method
// and deadline. Throws Error with the reply's code; returns false for the worker's own mapping
// probe, which is neither run nor answered. `owned` says whether this worker serves a partition.
bool check_request(const InboundMessage& message, const ClassRegistry& registry,
                   const RequestLimits& limits, Clock& clock, const std::function<bool(int)>& owned,
                   ShardCommand& command);

}  // namespace dobj
