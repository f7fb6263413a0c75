#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "dobj/store/database.hpp"
#include "dobj/store/object_store.hpp"
#include "dobj/store/partition_table.hpp"
#include "dobj/store/worker_registry.hpp"
#include "dobj/testing/postgres_server.hpp"

namespace dobj::store {

// A fresh database of the shared test server, with workers added as a test needs them.
class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresServer::shared().create_database(true);
    conn_ = connect(url_);
  }

  WorkerId add_worker(std::chrono::milliseconds ttl = std::chrono::seconds(60)) {
    return WorkerRegistry(*conn_).register_worker({"test", 1, "t"}, ttl);
  }

  // The only worker, so its fair share is every partition.
  WorkerId add_serving_worker(std::chrono::milliseconds ttl = std::chrono::seconds(60)) {
    auto w = add_worker(ttl);
    PartitionTable(*conn_).claim_fair_share(w);
    return w;
  }

  std::int64_t scalar(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  void expire(WorkerId w) {
    pqxx::nontransaction tx(*conn_);
    tx.exec0("UPDATE dobj.workers SET lease_until = now() - interval '1 second' WHERE id = " +
             std::to_string(w));
  }

  static ObjectCommit put(const ObjectLease& lease, const std::string& key,
                          const std::string& value) {
    return ObjectCommit{"Counter", "c1", lease, false, {KvWrite{key, value}}};
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace dobj::store
