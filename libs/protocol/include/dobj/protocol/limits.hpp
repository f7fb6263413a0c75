#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace dobj::protocol {

// Documented in schemas/protocol.md; requests beyond them get too_large.
constexpr std::size_t kDefaultMaxBodyBytes = 1 << 20;  // 1 MiB, --max-body-bytes on the worker
constexpr std::size_t kMaxKeyBytes = 2 << 10;          // 2 KiB
constexpr std::size_t kMaxValueBytes = 2 << 20;        // 2 MiB, encoded as msgpack
constexpr std::size_t kMaxIdempotencyKeyBytes = 256;   // Dobj-Idempotency-Key
// All headers' names and values together; dobj reads a few short ones, the rest is room for
// the NATS ecosystem's own (tracing, message ids).
constexpr std::size_t kMaxHeaderBytes = 8 << 10;   // 8 KiB
constexpr std::int64_t kMaxTimeoutMs = 3'600'000;  // Dobj-Timeout-Ms: 1 ms .. 1 h
// Arrays and objects nested deeper in a JSON body are bad_request (msgpack has the same bound):
// a deep value would cost recursion in every later walk over it.
constexpr int kMaxJsonDepth = 128;
constexpr int kDefaultPartitions = 256;
// Where a worker sends replies by default: the client inbox namespace of NATS clients.
constexpr const char* kDefaultReplyPrefix = "_INBOX.";
// The timers' own inbox namespace: clients may neither subscribe to it (deploy/nats permissions)
// nor name it as a reply subject (workers answer there only for $alarm, which clients may not
// send), so nobody can read or forge an alarm's outcome.
constexpr const char* kTimerInboxPrefix = "_DOBJ_TIMER.";
// Where targets answer the deliveries of durable messages (ctx.send) to the sender's worker.
constexpr const char* kSendInboxPrefix = "_DOBJ_SEND.";
constexpr int kProtocolVersion = 1;
// Awaited calls (ctx.call): how many objects one chain of calls may hold waiting, and how long
// a call waits for its callee unless the caller says otherwise (at most kMaxCallTimeout, well
// inside the idempotency window that makes resending a call safe).
constexpr int kMaxCallDepth = 8;
constexpr std::chrono::milliseconds kDefaultCallTimeout{30'000};
constexpr std::chrono::milliseconds kMaxCallTimeout{120'000};
// Timers hold the alarms due within this window in memory; a commit that sets an alarm inside
// it sends a hint so that a timer claims it at once.
constexpr std::chrono::milliseconds kAlarmWindow{5000};

}  // namespace dobj::protocol
