#include "dobj/testing/cluster.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <thread>

#include "dobj/store/database.hpp"
#include "dobj/store/worker_registry.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::testing {

Cluster::Cluster(Options options) : options_(std::move(options)) {
  for (int i = 0; i < options_.workers; ++i) add_worker();
  for (int i = 0; i < options_.timers; ++i) stack_.start_timer();
}

WorkerProcess& Cluster::add_worker() {
  auto& w = stack_.start_worker(options_.worker_args);
  workers_.push_back(&w);
  return w;
}

void Cluster::kill_worker(std::size_t i) {
  auto* w = workers_.at(i);
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(i));
  w->process().signal(SIGKILL);
  w->process().wait(std::chrono::seconds(10));
}

void Cluster::pause_worker(std::size_t i, std::chrono::milliseconds paused) {
  auto& p = workers_.at(i)->process();
  p.signal(SIGSTOP);
  std::this_thread::sleep_for(paused);
  p.signal(SIGCONT);
}

bool Cluster::drain_worker(std::size_t i, std::chrono::milliseconds deadline) {
  auto* w = workers_.at(i);
  auto id = worker_id(*w);
  {
    auto conn = store::connect(stack_.database_url());
    if (!store::WorkerRegistry(*conn).request_drain(id)) return false;
  }
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(i));
  auto status = w->process().wait(deadline);
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

void Cluster::restart_postgres(std::chrono::milliseconds down) {
  PostgresServer::shared().stop();
  std::this_thread::sleep_for(down);
  PostgresServer::shared().start();
}

void Cluster::restart_nats(std::chrono::milliseconds down) {
  stack_.nats().stop();
  std::this_thread::sleep_for(down);
  stack_.nats().start();
}

std::int64_t Cluster::worker_id(WorkerProcess& w) {
  return stack_.query_int("SELECT coalesce(max(id), -1) FROM dobj.workers WHERE pid = " +
                          std::to_string(w.process().pid()));
}

bool Cluster::wait_balanced(std::chrono::milliseconds deadline) {
  auto partitions = stack_.query_int("SELECT partitions FROM dobj.cluster");
  auto n = static_cast<std::int64_t>(workers_.size());
  auto share = (partitions + n - 1) / n;
  return wait_until(
      [&] {
        std::int64_t settled = 0;
        for (auto* w : workers_) {
          auto held = stack_.query_int("SELECT count(*) FROM dobj.partitions WHERE owner = " +
                                       std::to_string(worker_id(*w)));
          settled += held >= partitions - share * (n - 1) && held <= share;
        }
        return settled == n;
      },
      deadline, std::chrono::milliseconds(100));
}

int Cluster::owner_of(const std::string& class_name, const std::string& object_id) {
  auto conn = store::connect(stack_.database_url());
  pqxx::nontransaction tx(*conn);
  auto rows = tx.exec_params(
      "SELECT w.pid FROM dobj.objects o JOIN dobj.workers w ON w.id = o.owner "
      "WHERE o.class = $1 AND o.id = $2",
      class_name, object_id);
  if (rows.empty()) return -1;
  auto pid = rows[0][0].as<int>();
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (workers_[i]->process().pid() == pid) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace dobj::testing
