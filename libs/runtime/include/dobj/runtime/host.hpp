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
#include "dobj/runtime/host_observer.hpp"
#include "dobj/runtime/outbox.hpp"
#include "dobj/store/connection_url.hpp"
#include "dobj/store/object_store.hpp"
#include "dobj/store/worker_registry.hpp"

namespace dobj {

class Shard;

struct HostConfig {
  constexpr static int kDefaultShards = 2;
  constexpr static std::size_t kDefaultMaxObjectQueue = 1000;
  constexpr static std::chrono::milliseconds kDefaultIdleTimeout{30'000};
  constexpr static std::chrono::milliseconds kDefaultTick{100};
  // ≈ 10 KB of backend memory per schema touched (docs/scaling.md): 5,000 ≈ 50 MB per connection;
  // a shard holding more active objects keeps what they need (Shard::ensure_connection).
  constexpr static std::size_t kDefaultMaxSchemasPerConnection = 5000;
  // Like Durable Objects' CPU limit: a turn running longer makes the worker give up (see Host).
  constexpr static std::chrono::milliseconds kDefaultMaxTurn{30'000};
  // A batch with at most this many replies and nothing queued behind it sends them at once
  // (Outbox::Delivery::kNow): one write each from the shard's thread, where a flush costs a
  // thread wake-up, one write and a PING. One: the case where a write is plainly cheaper; 2–4
  // measured no different from a flush (docs/performance.md).
  constexpr static std::size_t kDefaultDirectReplies = 1;

  int shards = kDefaultShards;
  // The shards' database; a change (the worker's storage shard by a new URL) moves each shard's
  // connections at its next iteration.
  store::ConnectionUrl database_url;
  store::WorkerId worker_id = 0;
  int partitions = protocol::kDefaultPartitions;  // dobj.cluster.partitions
  std::size_t max_body_bytes = protocol::kDefaultMaxBodyBytes;
  std::size_t max_object_queue = kDefaultMaxObjectQueue;  // per object, beyond: overloaded
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  std::chrono::milliseconds tick = kDefaultTick;  // how often idle objects are looked for
  std::size_t max_schemas_per_connection = kDefaultMaxSchemasPerConnection;
  std::size_t prepared_commits = store::kDefaultPreparedCommits;        // per shard connection
  std::size_t direct_replies = kDefaultDirectReplies;                   // 0: always buffered
  std::chrono::milliseconds reply_window = store::kDefaultReplyWindow;  // idempotency keys
  // Objects whose first messages arrive while a shard commits are claimed meanwhile, on a second
  // database connection per shard (opened on first use), instead of after the commit.
  bool claim_ahead = true;
  bool audit_commits = false;  // every commit also lands in dobj.commit_audit (chaos runs)
  std::chrono::milliseconds max_turn = kDefaultMaxTurn;
  // A request is answered only on a reply subject starting with one of these (client inboxes):
  // any other (an event subject, obj., dobj., a timer's inbox) would let a client make the
  // worker publish there with its own rights, so such a request is refused unrun.
  std::vector<std::string> reply_prefixes{protocol::kDefaultReplyPrefix};
  // Told about replies, turns and commits (metrics); not owned, outlives the host. May be null.
  HostObserver* observer = nullptr;
};

// The object host: validates and routes inbound messages to executor shards (threads, each with
// its own database connection and its own objects), which run turns, commit and send replies.
// Lifecycle: construct (connects) → start() → dispatch()... → stop() (drains) → destroy.
class Host {
 public:
  // lease_valid(id): whether worker `id`'s lease is known valid now; no reply or commit happens
  // while it is false.
  using LeaseCheck = std::function<bool(store::WorkerId)>;
  // Told once per shard that a turn ran past HostConfig::max_turn ("Class/id" of its object).
  using StuckTurn = std::function<void(const std::string& object)>;
  Host(HostConfig config, const ClassRegistry& registry, Outbox& outbox, Clock& clock,
       LeaseCheck lease_valid);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Before start(). A turn past max_turn blocks its shard for good (a thread cannot be
  // interrupted): the host gives that shard up (its queue is answered `moved`, new messages for it
  // too, nothing of the stuck batch ever leaves) and tells `on_stuck`, so that the worker hands the
  // rest over and exits for its supervisor to restart it.
  void on_stuck_turn(StuckTurn on_stuck);
  void start();
  // Thread-safe; called by the transport for every inbound message. Replies at once to what it
  // can reject without the object (bad subject, unknown class or method, too large, overloaded,
  // stopping).
  void dispatch(InboundMessage message);
  // Stops taking messages (later ones get `moved`), lets every shard finish and commit what it
  // has, releases all object leases, and joins the shard threads; a shard stuck in a turn is given
  // up once the turn passes max_turn and left behind (the process is about to exit).
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
  bool hand_over_partitions(const std::vector<int>& partitions, std::chrono::milliseconds timeout);

  std::size_t active_objects() const;
  // Per shard: messages queued for its objects, not yet run or answered.
  std::vector<std::size_t> queue_depths() const;
  // Per shard: how long its running turn has run so far, in seconds (0 between turns).
  std::vector<double> running_turn_seconds() const;
  // Requests refused because of their reply subject (HostConfig::reply_prefixes), for metrics.
  std::uint64_t refused_reply_subjects() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dobj
