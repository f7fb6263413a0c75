#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dobj/core/clock.hpp"
#include "dobj/protocol/limits.hpp"
#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/outbox.hpp"
#include "dobj/store/object_store.hpp"
#include "dobj/store/worker_registry.hpp"

namespace dobj {

class Shard;

struct HostConfig {
  constexpr static int kDefaultShards = 2;
  constexpr static std::size_t kDefaultMaxObjectQueue = 1000;
  constexpr static std::chrono::milliseconds kDefaultIdleTimeout{30'000};
  constexpr static std::chrono::milliseconds kDefaultTick{100};
  // ≈ 8 KB of backend memory per schema touched (DESIGN.md §4): 5,000 ≈ 40 MB per connection.
  constexpr static std::size_t kDefaultMaxSchemasPerConnection = 5000;

  int shards = kDefaultShards;
  std::string database_url;
  store::WorkerId worker_id = 0;
  int partitions = protocol::kDefaultPartitions;  // dobj.cluster.partitions
  std::size_t max_body_bytes = protocol::kDefaultMaxBodyBytes;
  std::size_t max_object_queue = kDefaultMaxObjectQueue;  // per object, beyond: overloaded
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  std::chrono::milliseconds tick = kDefaultTick;  // how often idle objects are looked for
  std::size_t max_schemas_per_connection = kDefaultMaxSchemasPerConnection;
  std::chrono::milliseconds reply_window = store::kDefaultReplyWindow;  // idempotency keys
  bool audit_commits = false;  // every commit also lands in dobj.commit_audit (chaos runs)
};

// The object host: validates and routes inbound messages to executor shards (threads, each with
// its own database connection and its own objects), which run turns, commit and send replies.
// Lifecycle: construct (connects) → start() → dispatch()... → stop() (drains) → destroy.
class Host {
 public:
  // lease_valid(id): whether worker `id`'s lease is known valid now; no reply or commit happens
  // while it is false.
  using LeaseCheck = std::function<bool(store::WorkerId)>;
  Host(HostConfig config, const ClassRegistry& registry, Outbox& outbox, Clock& clock,
       LeaseCheck lease_valid);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  void start();
  // Thread-safe; called by the transport for every inbound message. Replies at once to what it
  // can reject without the object (bad subject, unknown class or method, too large, overloaded,
  // stopping).
  void dispatch(InboundMessage message);
  // Stops taking messages (later ones get `moved`), lets every shard finish and commit what it
  // has, releases all object leases, and joins the shard threads.
  void stop();
  // Drops every object without committing or replying and serves no partition: the worker
  // lost its lease.
  void fence();
  // The worker registered anew under `id` (after a fence): commits carry the new id.
  void rebind(store::WorkerId id);

  // Messages for partitions not served get `moved`. serve_partitions adds to the served set.
  void serve_partitions(const std::vector<int>& partitions);
  // Handover: stops serving the partitions at once (later messages get `moved`), lets every shard
  // finish and commit what it has queued for them, and releases their objects. False when the
  // shards did not all finish within `timeout` (they still release when they get to it).
  bool release_partitions(const std::vector<int>& partitions, std::chrono::milliseconds timeout);

  std::size_t active_objects() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dobj
