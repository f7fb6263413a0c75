#include "handover_runner.hpp"

#include <spdlog/spdlog.h>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "dobj/core/thread_name.hpp"
#include "dobj/store/partition_table.hpp"

namespace dobj {

HandoverRunner::HandoverRunner(std::string database_url, Finish finish)
    : conn_(std::move(database_url)), finish_(std::move(finish)), log_(logger("handover")) {}

HandoverRunner::~HandoverRunner() {
  stop();
}

void HandoverRunner::start() {
  thread_ = std::thread([this] {
    name_this_thread("handover");
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      auto job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      run(job);
      lock.lock();
      busy_ = false;
      changed_.notify_all();
    }
  });
}

void HandoverRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HandoverRunner::submit(store::WorkerId id, const std::vector<int>& partitions) {
  Job job{id, {}};
  {
    std::lock_guard lock(mutex_);
    for (int p : partitions) {
      if (in_flight_.insert(p).second) job.partitions.push_back(p);
    }
    if (job.partitions.empty()) return;
    queue_.push_back(std::move(job));
  }
  changed_.notify_all();
}

std::set<int> HandoverRunner::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void HandoverRunner::run_pending() {
  std::unique_lock lock(mutex_);
  if (thread_.joinable()) {
    changed_.wait(lock, [this] { return stopping_ || (queue_.empty() && !busy_); });
    return;
  }
  while (!queue_.empty()) {
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    run(job);
    lock.lock();
  }
}

void HandoverRunner::run(const Job& job) {
  try {
    finish_(job.partitions);
  } catch (const std::exception& e) {
    log_->error("handing over {} partitions: {}", job.partitions.size(), e.what());
  }
  // Released even when finishing failed: the partition's next owner claims every object of it
  // (fenced by epoch), so nothing stays stranded with this worker.
  try {
    conn_.use(
        [&](pqxx::connection& c) { store::PartitionTable(c).release(job.id, job.partitions); });
    log_->info("worker {}: handed over {} partitions", job.id, job.partitions.size());
  } catch (const std::exception& e) {
    // Still owned in the database: the next heartbeat round submits them again.
    log_->warn("worker {}: releasing {} partitions failed: {}", job.id, job.partitions.size(),
               e.what());
  }
  std::lock_guard lock(mutex_);
  for (int p : job.partitions) in_flight_.erase(p);
}

}  // namespace dobj
