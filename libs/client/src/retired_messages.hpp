#pragma once

#include <nats/nats.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace dobj {

// Finished cnats messages, destroyed a batch at a time. cnats frees every message on its garbage
// collector thread and wakes that thread whenever it sleeps: one futex wake and two context
// switches per message, which in a worker's hot get were a third of its CPU (docs/performance.md).
// Handing cnats a batch wakes it once. Thread-safe; at most kBatch messages or kBytes of them
// wait, and the destructor releases the rest.
class RetiredMessages {
 public:
  static constexpr std::size_t kBatch = 64;
  static constexpr std::size_t kBytes = 256 * 1024;

  // Tests count what is destroyed.
  using Destroy = void (*)(natsMsg*);
  explicit RetiredMessages(Destroy destroy = natsMsg_Destroy) : destroy_(destroy) {}
  ~RetiredMessages() { release(); }
  RetiredMessages(const RetiredMessages&) = delete;
  RetiredMessages& operator=(const RetiredMessages&) = delete;

  void add(natsMsg* msg);
  // Destroys every message waiting now.
  void release();

 private:
  void destroy_all(std::vector<natsMsg*>& batch) const;

  const Destroy destroy_;
  std::mutex mutex_;
  std::vector<natsMsg*> waiting_;
  std::size_t bytes_ = 0;
};

}  // namespace dobj
