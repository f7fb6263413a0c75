#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "dobj/core/clock.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/protocol/trace_context.hpp"
#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/outbox.hpp"
#include "dobj/store/object_store.hpp"

namespace dobj {

// One handover of partitions, shared by every shard: each releases its objects in them and
// counts down.
class PartitionHandover {
 public:
  PartitionHandover(std::set<int> partitions, int shards)
      : partitions_(std::move(partitions)), pending_(shards) {}
  bool covers(int p) const { return partitions_.count(p) != 0; }
  const std::set<int>& partitions() const { return partitions_; }
  void done() {
    std::lock_guard lock(mutex_);
    if (--pending_ == 0) finished_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return finished_.wait_for(lock, timeout, [this] { return pending_ == 0; });
  }

 private:
  const std::set<int> partitions_;
  std::mutex mutex_;
  std::condition_variable finished_;
  int pending_;
};

// What travels over a shard's inproc socket: ownership of a heap object passes with its pointer.
// What a request's outputs carry of it: its class and method as metrics labels (the registry's
// own strings, which outlive every command; empty where the request named none that exists) and
// the traceparent of its turn, for the reply and the events.
struct RequestInfo {
  std::string_view class_name;
  std::string_view method;
  std::string traceparent;
  std::chrono::steady_clock::time_point received{};  // see ShardCommand::received
};

struct ShardCommand {
  enum class Kind {
    kMessage,
    kStop,      // drain: finish, commit, release everything, end the loop
    kFence,     // the lease is gone: drop everything without a commit or a reply
    kHandOver,  // hand partitions over: finish, commit, release their objects
    kRebind,    // the worker registered anew: commit under the new worker id from now on
  };
  Kind kind = Kind::kMessage;
  InboundMessage message;
  protocol::InboundSubject subject;
  protocol::ContentType content_type = protocol::ContentType::kJson;
  const ClassDef* def = nullptr;
  const MethodFn* method = nullptr;
  std::string_view method_name;              // the registry's key of `method`
  std::optional<Clock::TimePoint> deadline;  // Dobj-Timeout-Ms: not started after this → timeout
  std::optional<store::StoredReply> stored;  // the reply a previous attempt got (idempotency)
  std::shared_ptr<PartitionHandover> handover;  // kHandOver
  store::WorkerId worker_id = 0;                // kRebind

  protocol::TraceContext trace;  // the turn's span (Host::dispatch: the request's child)
  // When Host::dispatch took the message: a reply's time in the worker (dobj_reply_seconds)
  // counts from here, queueing, turn and commit included.
  std::chrono::steady_clock::time_point received{};

  RequestInfo info() const {
    return {def ? std::string_view(def->name) : std::string_view(), method_name, trace.header(),
            received};
  }
};

}  // namespace dobj
