#include "retired_messages.hpp"

#include <cstring>
#include <utility>

namespace dobj {

void RetiredMessages::add(natsMsg* msg) {
  if (!msg) return;
  std::size_t size =
      static_cast<std::size_t>(natsMsg_GetDataLength(msg)) + std::strlen(natsMsg_GetSubject(msg));
  std::vector<natsMsg*> full;
  {
    std::lock_guard lock(mutex_);
    if (waiting_.capacity() < kBatch) waiting_.reserve(kBatch);
    waiting_.push_back(msg);
    bytes_ += size;
    if (waiting_.size() < kBatch && bytes_ < kBytes) return;
    full.swap(waiting_);
    bytes_ = 0;
  }
  destroy_all(full);
}

void RetiredMessages::release() {
  std::vector<natsMsg*> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(waiting_);
    bytes_ = 0;
  }
  destroy_all(all);
}

void RetiredMessages::destroy_all(std::vector<natsMsg*>& batch) const {
  for (natsMsg* msg : batch) destroy_(msg);
}

}  // namespace dobj
