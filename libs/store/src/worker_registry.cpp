#include "dobj/store/worker_registry.hpp"

#include <nlohmann/json.hpp>

#include "dobj/store/database.hpp"
#include "leased_rows.hpp"
#include "partition_release.hpp"

namespace dobj::store {

WorkerId WorkerRegistry::register_worker(const WorkerInfo& info, std::chrono::milliseconds ttl) {
  return with_storage_errors(conn_, "registering the worker", [&] {
    pqxx::work tx(conn_);
    auto id = insert_leased_row(tx, "dobj.workers", info, ttl);
    if (!info.storage_shard.empty()) {
      tx.exec_params0("UPDATE dobj.workers SET storage_shard = $2 WHERE id = $1", id,
                      info.storage_shard);
    }
    if (!info.classes.empty()) {
      // One statement for every class: {"Class": ["m1", ...], ...}.
      tx.exec_params0(
          "INSERT INTO dobj.worker_classes (worker, class, methods) "
          "SELECT $1, key, ARRAY(SELECT jsonb_array_elements_text(value)) "
          "FROM jsonb_each($2::jsonb)",
          id, nlohmann::json(info.classes).dump());
    }
    tx.commit();
    return id;
  });
}

LeaseState WorkerRegistry::renew(WorkerId id, std::chrono::milliseconds ttl) {
  return with_storage_errors(conn_, "renewing the worker lease", [&] {
    pqxx::nontransaction tx(conn_);
    auto state = renew_leased_row(tx, "dobj.workers", id, ttl);
    if (!state) return LeaseState::kLost;
    return *state == "draining" ? LeaseState::kDraining : LeaseState::kServing;
  });
}

bool WorkerRegistry::request_drain(WorkerId id) {
  return with_storage_errors(conn_, "requesting a drain", [&] {
    pqxx::nontransaction tx(conn_);
    return !tx.exec_params(
                  "UPDATE dobj.workers SET state = 'draining' WHERE id = $1 AND "
                  "state = 'serving' AND lease_until > now() RETURNING id",
                  id)
                .empty();
  });
}

void WorkerRegistry::set_state(WorkerId id, const std::string& state) {
  with_storage_errors(conn_, "updating the worker state", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0("UPDATE dobj.workers SET state = $2 WHERE id = $1", id, state);
  });
}

void WorkerRegistry::mark_stopped(WorkerId id) {
  with_storage_errors(conn_, "stopping the worker", [&] {
    pqxx::work tx(conn_);
    release_partitions(tx, id, std::nullopt);
    tx.exec_params0("UPDATE dobj.objects SET owner = NULL WHERE owner = $1", id);
    tx.exec_params0("UPDATE dobj.workers SET state = 'stopped', lease_until = now() WHERE id = $1",
                    id);
    tx.commit();
  });
}

void WorkerRegistry::set_available(WorkerId id, bool available) {
  with_storage_errors(conn_, "setting the worker's availability", [&] {
    pqxx::nontransaction tx(conn_);
    tx.exec_params0("UPDATE dobj.workers SET available = $2 WHERE id = $1", id, available);
  });
}

}  // namespace dobj::store
