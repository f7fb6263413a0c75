#include "housekeeper.hpp"

#include "dobj/store/object_store.hpp"

namespace dobj {

Housekeeper::Housekeeper(store::ConnectionUrl database_url, store::Retention retention)
    : retention_(retention),
      conn_(std::move(database_url)),
      task_("housekeeper", kInterval, [this] { sweep(); }) {}

Housekeeper::~Housekeeper() {
  stop();
}

void Housekeeper::sweep() {
  // A failure reconnects next time; PeriodicTask logs it.
  conn_.use([&](pqxx::connection& conn) {
    auto until_done = [](auto&& delete_batch) {
      for (int i = 0; i < kMaxBatchesPerSweep && delete_batch() == kBatch; ++i) {
      }
    };
    until_done([&] { return store::expire_stored_replies(conn, kBatch); });
    until_done([&] { return store::prune_handovers(conn, retention_.handovers, kBatch); });
    until_done([&] { return store::prune_departed_workers(conn, retention_.departed, kBatch); });
    until_done([&] { return store::prune_departed_timers(conn, retention_.departed, kBatch); });
    until_done([&] { return store::prune_dead_alarms(conn, retention_.dead_alarms, kBatch); });
  });
}

}  // namespace dobj
