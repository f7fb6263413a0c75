#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace dobj {

// What the host tells about its work, for metrics (the worker's WorkerMetrics). Called from the
// shard threads and the dispatching thread at once: implementations are thread-safe. Class and
// method are the registry's names ("" when a request named none that exists), never object ids,
// so that labels stay bounded.
class HostObserver {
 public:
  virtual ~HostObserver() = default;
  // A reply left through the output gate; status is "ok" or the error code. `in_worker`: since
  // the worker took the message whose turn (or refusal) answers; zero for a refusal before the
  // request named an existing class and method.
  virtual void replied(std::string_view class_name, std::string_view method,
                       std::string_view status, std::chrono::nanoseconds in_worker) = 0;
  // A turn's handler ran (without its commit).
  virtual void turn_ran(std::string_view class_name, std::string_view method,
                        std::chrono::nanoseconds took) = 0;
  // A shard's batch commit (one transaction for `objects` objects).
  virtual void committed(std::chrono::nanoseconds took, std::size_t objects) = 0;
  // A claim statement's outcome: objects whose leases came, objects the database gave to no
  // lease of this worker (answered `moved`). `ahead`: claimed on the second connection while a
  // commit ran (HostConfig::claim_ahead). A statement that failed reports nothing.
  virtual void claimed(std::size_t objects, std::size_t refused, bool ahead) = 0;
};

}  // namespace dobj
