#pragma once

#include <atomic>
#include <memory>
#include <vector>

namespace dobj {

// The partitions this worker serves right now, read lock-free by the dispatching thread and the
// shards, written by the lease keeper's thread.
class PartitionSet {
 public:
  explicit PartitionSet(int partitions)
      : size_(partitions), bits_(std::make_unique<std::atomic<bool>[]>(partitions)) {}

  bool contains(int p) const { return p >= 0 && p < size_ && bits_[p].load(); }
  void set(const std::vector<int>& partitions, bool served) {
    for (int p : partitions) {
      if (p >= 0 && p < size_) bits_[p] = served;
    }
  }
  void clear() {
    for (int p = 0; p < size_; ++p) bits_[p] = false;
  }

 private:
  int size_;
  std::unique_ptr<std::atomic<bool>[]> bits_;
};

}  // namespace dobj
