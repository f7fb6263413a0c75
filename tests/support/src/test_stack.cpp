#include "dobj/testing/test_stack.hpp"

#include <stdexcept>

#include "dobj/store/database.hpp"

namespace dobj::testing {

std::string source_dir() {
  return DOBJ_SOURCE_DIR;
}
std::string worker_binary() {
  return DOBJ_WORKER_BINARY;
}
std::string cli_binary() {
  return DOBJ_CLI_BINARY;
}

WorkerProcess::WorkerProcess(const std::string& nats_url, const std::string& db_url,
                             std::vector<std::string> extra_args, const std::string& log_path) {
  std::vector<std::string> argv{worker_binary(), "--test-classes"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ =
      std::make_unique<Process>(argv,
                                std::map<std::string, std::string>{{"DOBJ_NATS_URL", nats_url},
                                                                   {"DOBJ_DATABASE_URL", db_url}},
                                log_path);
}

bool WorkerProcess::wait_serving(std::chrono::milliseconds deadline) {
  return wait_until(
             [this] {
               return log().find("serving with") != std::string::npos || !process_->running();
             },
             deadline) &&
         process_->running();
}

std::string WorkerProcess::log() const {
  return read_file(process_->log_path());
}

TestStack::TestStack()
    : dir_(make_temp_dir("dobj-stack")),
      nats_(std::make_unique<NatsServer>()),
      db_url_(PostgresServer::shared().create_database(true)) {}

TestStack::~TestStack() {
  workers_.clear();
  nats_.reset();
  remove_tree(dir_);
}

std::int64_t TestStack::query_int(const std::string& sql) const {
  auto conn = store::connect(db_url_);
  pqxx::nontransaction tx(*conn);
  auto r = tx.exec1(sql);
  return r[0].is_null() ? -1 : r[0].as<std::int64_t>();
}

std::int64_t TestStack::wait_for_lock_waiter(std::chrono::milliseconds deadline) const {
  std::int64_t pid = 0;
  wait_until(
      [&] {
        pid = query_int(
            "SELECT coalesce(max(pid), 0) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()");
        return pid > 0;
      },
      deadline);
  return pid;
}

WorkerProcess& TestStack::start_worker(std::vector<std::string> extra_args) {
  auto log = dir_ + "/worker-" + std::to_string(workers_.size()) + ".log";
  workers_.push_back(
      std::make_unique<WorkerProcess>(nats_->service_url(), db_url_, std::move(extra_args), log));
  auto& w = *workers_.back();
  if (!w.wait_serving(std::chrono::seconds(30))) {
    throw std::runtime_error("worker did not start serving:\n" + w.log());
  }
  return w;
}

}  // namespace dobj::testing
