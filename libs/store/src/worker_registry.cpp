#include "dobj/store/worker_registry.hpp"

#include "dobj/store/database.hpp"

namespace dobj::store {
namespace {
double seconds(std::chrono::milliseconds ms) {
  return static_cast<double>(ms.count()) / 1000.0;
}
}  // namespace

WorkerId WorkerRegistry::register_worker(const WorkerInfo& info, std::chrono::milliseconds ttl) {
  return with_storage_errors("registering the worker", [&] {
    pqxx::nontransaction tx(conn_);
    return tx
        .exec_params1(
            "INSERT INTO dobj.workers(host, pid, version, lease_until) "
            "VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING id",
            info.host, info.pid, info.version, seconds(ttl))[0]
        .as<WorkerId>();
  });
}

bool WorkerRegistry::renew(WorkerId id, std::chrono::milliseconds ttl) {
  return with_storage_errors("renewing the worker lease", [&] {
    pqxx::nontransaction tx(conn_);
    auto r = tx.exec_params(
        "UPDATE dobj.workers SET heartbeat_at = now(), "
        "lease_until = now() + make_interval(secs => $2) "
        "WHERE id = $1 AND state <> 'stopped' AND lease_until > now() RETURNING id",
        id, seconds(ttl));
    return r.size() == 1;
  });
}

void WorkerRegistry::set_state(WorkerId id, const std::string& state) {
  with_storage_errors("updating the worker state", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0("UPDATE dobj.workers SET state = $2 WHERE id = $1", id, state);
  });
}

void WorkerRegistry::mark_stopped(WorkerId id) {
  with_storage_errors("stopping the worker", [&] {
    pqxx::work tx(conn_);
    tx.exec_params0("UPDATE dobj.partitions SET owner = NULL WHERE owner = $1", id);
    tx.exec_params0("UPDATE dobj.objects SET owner = NULL WHERE owner = $1", id);
    tx.exec_params0("UPDATE dobj.workers SET state = 'stopped', lease_until = now() WHERE id = $1",
                    id);
    tx.commit();
  });
}

}  // namespace dobj::store
