#include "schema_pool_filler.hpp"

#include "dobj/store/schema_pool.hpp"

namespace dobj {

SchemaPoolFiller::SchemaPoolFiller(store::ConnectionUrl database_url, int target)
    : conn_(std::move(database_url)),
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
  if (!conn_.is_open() || made_on_connection_ >= kSchemasPerConnection) {
    conn_.reset();
    made_on_connection_ = 0;
  }
  // A failure reconnects next time; PeriodicTask logs it.
  return conn_.use([&](pqxx::connection& conn) {
    auto ready = store::ready_schemas(conn);
    bool burst = ready > 0 && ready_after_last_round_ - ready > kBatch;
    ready_after_last_round_ = ready;
    if (burst) return kIdle;
    last_made_ = store::fill_schema_pool(conn, target_, kBatch);
    made_on_connection_ += last_made_;
    ready_after_last_round_ = ready + last_made_;
    return last_made_ == kBatch ? kPause : kIdle;
  });
}

}  // namespace dobj
