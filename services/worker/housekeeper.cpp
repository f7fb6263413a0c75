#include "housekeeper.hpp"

#include "dobj/store/database.hpp"
#include "dobj/store/object_store.hpp"
#include "dobj/store/partition_table.hpp"

namespace dobj {

Housekeeper::Housekeeper(std::string database_url)
    : database_url_(std::move(database_url)),
      task_("housekeeper", kInterval, [this] { sweep(); }) {}

Housekeeper::~Housekeeper() {
  stop();
}

void Housekeeper::sweep() {
  try {
    if (!conn_ || !conn_->is_open()) conn_ = store::connect(database_url_);
    store::expire_stored_replies(*conn_, kBatch);
    store::PartitionTable(*conn_).prune_log(kHandoverHistory, kBatch);
  } catch (...) {
    conn_.reset();  // reconnect next time; PeriodicTask logs the failure
    throw;
  }
}

}  // namespace dobj
