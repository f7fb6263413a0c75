#pragma once

#include <chrono>

#include "dobj/client/nats_connection.hpp"

namespace dobj {

// Checks that the NATS server maps obj.*.*.* to dobj.in.<p>.… with the same partition function
// and partition count as the database. Throws Error(kBadRequest) describing the mismatch.
void verify_partition_mapping(NatsConnection& nats, int partitions,
                              std::chrono::milliseconds timeout);

}  // namespace dobj
