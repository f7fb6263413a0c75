#include "dobj/testing/test_stack.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "dobj/store/database.hpp"
#include "dobj/testing/http_get.hpp"

namespace dobj::testing {
namespace {

std::vector<std::string> prepend(std::vector<std::string> front, std::vector<std::string> rest) {
  front.insert(front.end(), rest.begin(), rest.end());
  return front;
}

constexpr std::chrono::seconds kStartDeadline{30};

// Test workers keep a small pool of ready schemas, so that tests see both first writes: from the
// pool, and beyond it (a schema created in the commit).
constexpr const char* kTestSchemaPool = "4";

std::vector<std::string> worker_args(std::vector<std::string> extra_args) {
  if (std::find(extra_args.begin(), extra_args.end(), "--schema-pool") == extra_args.end()) {
    extra_args.insert(extra_args.begin(), {"--schema-pool", kTestSchemaPool});
  }
  return prepend({worker_binary()}, std::move(extra_args));
}

}  // namespace

std::string source_dir() {
  return DOBJ_SOURCE_DIR;
}
std::string worker_binary() {
  return DOBJ_WORKER_BINARY;
}

std::string production_worker_binary() {
  return DOBJ_PRODUCTION_WORKER_BINARY;
}
std::string cli_binary() {
  return DOBJ_CLI_BINARY;
}
std::string timer_binary() {
  return DOBJ_TIMER_BINARY;
}

ServiceProcess::ServiceProcess(std::vector<std::string> argv, const std::string& nats_url,
                               const std::string& db_url, const std::string& log_path) {
  auto given = std::find(argv.begin(), argv.end(), "--metrics-addr");
  if (given == argv.end()) {
    // Never the default port: several services of several tests run side by side.
    metrics_port_ = free_port();
    argv.push_back("--metrics-addr");
    argv.push_back("127.0.0.1:" + std::to_string(metrics_port_));
  } else if (given + 1 != argv.end()) {
    auto addr = *(given + 1);
    auto colon = addr.rfind(':');
    if (colon != std::string::npos) metrics_port_ = std::atoi(addr.c_str() + colon + 1);
  }
  process_ =
      std::make_unique<Process>(std::move(argv),
                                std::map<std::string, std::string>{{"DOBJ_NATS_URL", nats_url},
                                                                   {"DOBJ_DATABASE_URL", db_url}},
                                log_path);
}

bool ServiceProcess::wait_serving(std::chrono::milliseconds deadline) {
  // Readiness as a supervisor probes it, never a log line.
  return wait_until(
             [this] {
               return !process_->running() || http_get(metrics_port_, "/readyz").status == 200;
             },
             deadline) &&
         process_->running();
}

std::string ServiceProcess::log() const {
  return read_file(process_->log_path());
}

WorkerProcess::WorkerProcess(const std::string& nats_url, const std::string& db_url,
                             std::vector<std::string> extra_args, const std::string& log_path)
    : ServiceProcess(worker_args(std::move(extra_args)), nats_url, db_url, log_path) {}

TestStack::TestStack(NatsServer::Profile profile, int nats_nodes, bool nats_advertise)
    : dir_(make_temp_dir("dobj-stack")),
      nats_(std::make_unique<NatsServer>(profile, nats_nodes, nats_advertise)),
      db_url_(PostgresServer::shared().create_database(true)) {}

TestStack::~TestStack() {
  services_.clear();
  nats_.reset();
  // DOBJ_TEST_KEEP_LOGS keeps the services' logs, to read after a failure that is hard to repeat.
  if (const char* keep = std::getenv("DOBJ_TEST_KEEP_LOGS"); keep && *keep) {
    fmt::print(stderr, "kept the services' logs in {}\n", dir_);
    return;
  }
  remove_tree(dir_);
}

std::string TestStack::worker_logs() const {
  std::string out;
  for (const auto& s : services_) out += s->log() + "\n";
  return out;
}

std::int64_t TestStack::query_int(const std::string& sql) const {
  std::lock_guard lock(query_mutex_);
  auto run = [&] {
    if (!query_conn_) query_conn_ = store::connect(db_url_);
    pqxx::nontransaction tx(*query_conn_);
    auto r = tx.exec1(sql);
    return r[0].is_null() ? std::int64_t{-1} : r[0].as<std::int64_t>();
  };
  try {
    return run();
  } catch (const pqxx::broken_connection&) {
    query_conn_.reset();  // a test ended the stack's sessions, or restarted PostgreSQL
    return run();
  }
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
  return start_worker_at(nats_->service_url(), service_database_url(), std::move(extra_args));
}

WorkerProcess& TestStack::start_worker_at(const std::string& nats_url, const std::string& db_url,
                                          std::vector<std::string> extra_args) {
  auto worker =
      std::make_unique<WorkerProcess>(nats_url, db_url, std::move(extra_args), next_log());
  auto& w = *worker;
  services_.push_back(std::move(worker));
  if (!w.wait_serving(kStartDeadline)) {
    throw std::runtime_error("worker did not start serving:\n" + w.log());
  }
  return w;
}

ServiceProcess& TestStack::start_timer(std::vector<std::string> extra_args) {
  services_.push_back(
      std::make_unique<ServiceProcess>(prepend({timer_binary()}, std::move(extra_args)),
                                       nats_->timer_url(), service_database_url(), next_log()));
  auto& t = *services_.back();
  if (!t.wait_serving(kStartDeadline)) {
    throw std::runtime_error("timer did not start serving:\n" + t.log());
  }
  return t;
}

std::string TestStack::next_log() const {
  return dir_ + "/service-" + std::to_string(services_.size()) + ".log";
}

}  // namespace dobj::testing
