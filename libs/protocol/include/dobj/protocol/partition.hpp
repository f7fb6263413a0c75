#pragma once

#include <cstdint>
#include <string_view>

namespace dobj::protocol {

// The NATS server's partition(P, 1, 2) mapping function: FNV-1a 32 of the class and id tokens
// concatenated, modulo P. A test pins it against a real nats-server.
std::uint32_t fnv1a32(std::string_view bytes, std::uint32_t seed = 2166136261u);
int partition_of(std::string_view class_name, std::string_view object_id, int partitions);

}  // namespace dobj::protocol
