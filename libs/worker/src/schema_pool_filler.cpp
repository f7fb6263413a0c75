#include "schema_pool_filler.hpp"

#include "dobj/store/database.hpp"
#include "dobj/store/schema_pool.hpp"

namespace dobj {

SchemaPoolFiller::SchemaPoolFiller(std::string database_url, int target)
    : database_url_(std::move(database_url)),
      target_(target),
      task_(
          "schema-pool", [this] { return round(); }, kIdle) {}

SchemaPoolFiller::~SchemaPoolFiller() {
  stop();
}

int SchemaPoolFiller::step() {
  task_.step_now();
  return last_made_;
}

std::chrono::milliseconds SchemaPoolFiller::round() {
  last_made_ = 0;
  if (target_ <= 0) return kIdle;
  try {
    if (!conn_ || !conn_->is_open() || made_on_connection_ >= kSchemasPerConnection) {
      conn_.reset();
      conn_ = store::connect(database_url_);
      made_on_connection_ = 0;
    }
    auto ready = store::ready_schemas(*conn_);
    bool burst = ready > 0 && ready_after_last_round_ - ready > kBatch;
    ready_after_last_round_ = ready;
    if (burst) return kIdle;
    last_made_ = store::fill_schema_pool(*conn_, target_, kBatch);
    made_on_connection_ += last_made_;
    ready_after_last_round_ = ready + last_made_;
  } catch (...) {
    conn_.reset();  // reconnect next time; PeriodicTask logs the failure
    throw;
  }
  return last_made_ == kBatch ? kPause : kIdle;
}

}  // namespace dobj
