#include "dobj/testing/cluster.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <thread>

#include "dobj/store/database.hpp"
#include "dobj/store/storage_shards.hpp"
#include "dobj/store/worker_registry.hpp"
#include "dobj/testing/postgres_server.hpp"
#include "dobj/testing/process.hpp"

namespace dobj::testing {

Cluster::Cluster(Options options)
    // Workers reach NATS through their proxies only: nodes must not announce their real ports.
    : options_(std::move(options)),
      stack_(NatsServer::Profile::kLocal, options_.nats_nodes, false) {
  add_storage_shards(options_.storage_shards);
  for (int i = 0; i < options_.workers; ++i) add_worker();
  for (int i = 0; i < options_.timers; ++i) stack_.start_timer();
}

namespace {

// `url` with its port replaced (service URLs end in ":<port>", database URLs in ":<port>/db").
std::string via_port(std::string url, int from, int to) {
  auto at = url.rfind(":" + std::to_string(from));
  url.replace(at + 1, std::to_string(from).size(), std::to_string(to));
  return url;
}

std::string shard_name(int shard) {
  return "s" + std::to_string(shard + 1);
}

}  // namespace

void Cluster::add_storage_shards(int count) {
  if (count <= 0) return;
  auto control = store::connect(stack_.database_url());
  auto partitions = stack_.query_int("SELECT partitions FROM dobj.cluster");
  for (int k = 0; k < count; ++k) {
    shard_servers_.push_back(PostgresServer::start_another());
    auto url = shard_servers_.back()->create_database(true);
    shard_admin_urls_.push_back(url);
    store::name_storage_database(*store::connect(url), shard_name(k));
    auto first = static_cast<int>(k * partitions / count);
    auto last = static_cast<int>((k + 1) * partitions / count - 1);
    store::add_storage_shard(*control, {shard_name(k), PostgresServer::service_url(url)},
                             {shard_name(k), first, last});
    store::link_storage_shard(*control, shard_name(k), url);
  }
}

WorkerProcess& Cluster::add_worker() {
  Member m;
  auto args = options_.worker_args;
  if (!shard_servers_.empty()) {
    std::vector<int> serving(shard_servers_.size(), 0);
    for (const auto& w : workers_) ++serving.at(static_cast<std::size_t>(w.shard));
    m.shard = static_cast<int>(std::min_element(serving.begin(), serving.end()) - serving.begin());
    // Its own way to the shard's server, so that faults can cut this worker alone from it.
    auto k = static_cast<std::size_t>(m.shard);
    int shard_port = shard_servers_.at(k)->port();
    m.shard_pg = std::make_unique<TcpProxy>(shard_port);
    args.insert(args.end(), {"--storage-shard", shard_name(m.shard), "--storage-url",
                             via_port(PostgresServer::service_url(shard_admin_urls_.at(k)),
                                      shard_port, m.shard_pg->port())});
  }
  auto& nats = stack_.nats();
  auto pg_port = PostgresServer::shared().port();
  m.pg = std::make_unique<TcpProxy>(pg_port);
  std::vector<int> proxied;
  for (int port : nats.ports()) {
    m.nats.push_back(std::make_unique<TcpProxy>(port));
    proxied.push_back(m.nats.back()->port());
  }
  m.process =
      &stack_.start_worker_at(NatsServer::with_ports(nats.service_url(), proxied),
                              via_port(stack_.service_database_url(), pg_port, m.pg->port()), args);
  workers_.push_back(std::move(m));
  return *workers_.back().process;
}

Cluster::Member Cluster::take(std::size_t i) {
  auto m = std::move(workers_.at(i));
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(i));
  return m;
}

void Cluster::kill_worker(std::size_t i) {
  auto m = take(i);
  m.process->process().signal(SIGKILL);
  m.process->process().wait(std::chrono::seconds(10));
}

namespace {
void freeze_for(const std::vector<TcpProxy*>& links, std::chrono::milliseconds cut) {
  for (auto* link : links) link->freeze();
  std::this_thread::sleep_for(cut);
  for (auto* link : links) link->thaw();
}
}  // namespace

std::vector<TcpProxy*> Cluster::postgres_links(std::size_t i) {
  auto& m = workers_.at(i);
  std::vector<TcpProxy*> out{m.pg.get()};
  if (m.shard_pg) out.push_back(m.shard_pg.get());
  return out;
}

void Cluster::cut_from_postgres(std::size_t i, std::chrono::milliseconds cut) {
  freeze_for(postgres_links(i), cut);
}

std::vector<TcpProxy*> Cluster::nats_links(std::size_t i) {
  std::vector<TcpProxy*> out;
  for (auto& link : workers_.at(i).nats) out.push_back(link.get());
  return out;
}

void Cluster::cut_from_nats(std::size_t i, std::chrono::milliseconds cut) {
  freeze_for(nats_links(i), cut);
}

void Cluster::slow_postgres(std::chrono::milliseconds delay, std::chrono::milliseconds during) {
  auto set_delay = [&](std::chrono::milliseconds d) {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      for (auto* link : postgres_links(i)) link->set_delay(d);
    }
  };
  set_delay(delay);
  std::this_thread::sleep_for(during);
  set_delay(std::chrono::milliseconds(0));
}

void Cluster::pause_worker(std::size_t i, std::chrono::milliseconds paused) {
  auto& p = workers_.at(i).process->process();
  p.signal(SIGSTOP);
  std::this_thread::sleep_for(paused);
  p.signal(SIGCONT);
}

bool Cluster::drain_worker(std::size_t i, std::chrono::milliseconds deadline, std::string* log) {
  // A worker between two registrations (its lease lost to an earlier fault) takes the request
  // once it serves again under its new id.
  std::string last_refusal;
  auto requested = wait_until(
      [&] {
        try {
          auto id = worker_id(*workers_.at(i).process);
          auto conn = store::connect(stack_.database_url());
          if (store::WorkerRegistry(*conn).request_drain(id)) return true;
          last_refusal = "the drain request found no live registration";
        } catch (const std::exception& e) {
          last_refusal = std::string("the drain request could not be made: ") + e.what();
        }
        return false;
      },
      deadline, std::chrono::milliseconds(100));
  if (!requested) {
    if (log) *log = last_refusal + "\n" + workers_.at(i).process->log();
    return false;
  }
  auto m = take(i);  // its proxies live until it has exited
  auto status = m.process->process().wait(deadline);
  if (status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return true;
  if (log) {
    *log = (!status              ? std::string("still running at the deadline")
            : WIFEXITED(*status) ? "exited " + std::to_string(WEXITSTATUS(*status))
                                 : "killed by signal " + std::to_string(WTERMSIG(*status))) +
           "\n" + m.process->log();
  }
  return false;
}

void Cluster::restart_postgres(std::chrono::milliseconds down) {
  PostgresServer::shared().stop();
  std::this_thread::sleep_for(down);
  PostgresServer::shared().start();
}

void Cluster::restart_storage_shard(int shard, std::chrono::milliseconds down) {
  auto& server = *shard_servers_.at(static_cast<std::size_t>(shard));
  server.stop();
  std::this_thread::sleep_for(down);
  server.start();
}

int Cluster::shard_of(int partition) {
  auto conn = store::connect(stack_.database_url());
  auto map = store::StorageShardMap::load(*conn);
  const auto* shard = map.shard_of(partition);
  if (!shard) return -1;
  for (int k = 0; k < storage_shards(); ++k) {
    if (shard_name(k) == shard->name) return k;
  }
  return -1;
}

std::string Cluster::move_partitions(int first, int last, int to, std::chrono::seconds timeout) {
  std::vector<std::string> argv{
      cli_binary(),   "--db",        stack_.database_url(),
      "shards",       "move",        std::to_string(first) + "-" + std::to_string(last),
      shard_name(to), "--timeout-s", std::to_string(timeout.count())};
  for (int k = 0; k < storage_shards(); ++k) {
    argv.push_back("--shard-admin-url");
    argv.push_back(shard_name(k) + "=" + shard_admin_urls_.at(static_cast<std::size_t>(k)));
  }
  std::string output;
  if (run_command(argv, &output) != 0) throw std::runtime_error("dobj shards move: " + output);
  return output;
}

void Cluster::restart_nats(std::chrono::milliseconds down) {
  stack_.nats().stop();
  std::this_thread::sleep_for(down);
  stack_.nats().start();
  stack_.nats().wait_routes(std::chrono::seconds(10));
}

void Cluster::kill_nats_node(int node, std::chrono::milliseconds down) {
  stack_.nats().stop_node(node, SIGKILL);
  std::this_thread::sleep_for(down);
  stack_.nats().start_node(node);
  stack_.nats().wait_routes(std::chrono::seconds(10));
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
        for (auto& m : workers_) {
          auto held = stack_.query_int("SELECT count(*) FROM dobj.partitions WHERE owner = " +
                                       std::to_string(worker_id(*m.process)));
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
    if (workers_[i].process->process().pid() == pid) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace dobj::testing
