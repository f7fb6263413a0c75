#include "dobj/protocol/partition.hpp"

namespace dobj::protocol {

std::uint32_t fnv1a32(std::string_view bytes, std::uint32_t seed) {
  std::uint32_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

int partition_of(std::string_view class_name, std::string_view object_id, int partitions) {
  // Hashing the second token continues from the first's state: same as hashing the concatenation.
  auto h = fnv1a32(object_id, fnv1a32(class_name));
  return static_cast<int>(h % static_cast<std::uint32_t>(partitions));
}

}  // namespace dobj::protocol
