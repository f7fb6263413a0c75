#pragma once

#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "dobj/testing/nats_server.hpp"
#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/process.hpp"

namespace dobj::testing {

std::string source_dir();
// dobj-test-worker: the examples and the test classes (Scratch, Ledger).
std::string worker_binary();
// dobj-worker as shipped: the examples only.
std::string production_worker_binary();
std::string cli_binary();
std::string timer_binary();

// A dobj service process (worker or timer) configured through DOBJ_NATS_URL and
// DOBJ_DATABASE_URL, with its log in a file.
class ServiceProcess {
 public:
  ServiceProcess(std::vector<std::string> argv, const std::string& nats_url,
                 const std::string& db_url, const std::string& log_path);
  // Blocks until the service's /readyz answers 200 (or it exits, or the deadline passes).
  bool wait_serving(std::chrono::milliseconds deadline);
  Process& process() { return *process_; }
  std::string log() const;
  // Its /metrics, /healthz and /readyz (a free loopback port, unless argv chose one).
  int metrics_port() const { return metrics_port_; }

 private:
  std::unique_ptr<Process> process_;
  int metrics_port_ = 0;
};

// dobj-test-worker (the examples and the test classes).
class WorkerProcess : public ServiceProcess {
 public:
  WorkerProcess(const std::string& nats_url, const std::string& db_url,
                std::vector<std::string> extra_args, const std::string& log_path);
};

// What an integration test needs: its own NATS (one node, or a cluster of `nats_nodes`), its
// own migrated database on the shared PostgreSQL, and workers started on demand.
class TestStack {
 public:
  explicit TestStack(NatsServer::Profile profile = NatsServer::Profile::kLocal, int nats_nodes = 1,
                     bool nats_advertise = true);
  ~TestStack();

  NatsServer& nats() { return *nats_; }
  // As the database's owner (a superuser): tests look and meddle through it.
  const std::string& database_url() const { return db_url_; }
  // As the service role workers and timers use.
  std::string service_database_url() const { return PostgresServer::service_url(db_url_); }
  // Starts a worker with the Scratch test class and waits until it serves.
  WorkerProcess& start_worker(std::vector<std::string> extra_args = {});
  // The same with other addresses (e.g. through a TcpProxy).
  WorkerProcess& start_worker_at(const std::string& nats_url, const std::string& db_url,
                                 std::vector<std::string> extra_args = {});
  // Starts a dobj-timer and waits until it serves.
  ServiceProcess& start_timer(std::vector<std::string> extra_args = {});
  std::string temp_dir() const { return dir_; }
  // Every service's log so far, for failure messages.
  std::string worker_logs() const;
  // The first column of the first row of a query on the stack's database (NULL → -1), on one
  // connection kept for the stack's life (a connection each cost tests that check hundreds of
  // rows one by one seconds under ASan). A connection found broken is opened again, once.
  std::int64_t query_int(const std::string& sql) const;
  // Waits for a backend of the stack's database to block on a lock (a row lock a test holds);
  // returns its pid, or 0 if none did before the deadline.
  std::int64_t wait_for_lock_waiter(std::chrono::milliseconds deadline) const;

 private:
  std::string dir_;
  std::unique_ptr<NatsServer> nats_;
  std::string db_url_;
  std::string next_log() const;
  mutable std::mutex query_mutex_;
  mutable std::unique_ptr<pqxx::connection> query_conn_;

  std::vector<std::unique_ptr<ServiceProcess>> services_;
};

}  // namespace dobj::testing
