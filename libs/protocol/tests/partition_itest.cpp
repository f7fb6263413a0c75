// Pins partition_of against the real nats-server mapping in deploy/nats/dobj.conf.
#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <set>

#include "dobj/client/nats_connection.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"
#include "dobj/testing/nats_server.hpp"

namespace dobj::protocol {
namespace {

constexpr int kIds = 3000;

TEST(PartitionMapping, MatchesTheNatsServerForManyIds) {
  testing::NatsServer server;
  // Workers read the mapped subjects; clients publish the unmapped ones.
  NatsConnection nats({server.service_url(), "partition-test"});
  NatsConnection client({server.client_url(), "partition-client"});
  std::mutex mutex;
  std::vector<std::string> subjects;
  auto sub = nats.subscribe("dobj.in.>", [&](natsMsg* m) {
    std::lock_guard lock(mutex);
    subjects.emplace_back(natsMsg_GetSubject(m));
    natsMsg_Destroy(m);
  });
  nats.flush(std::chrono::seconds(2));

  std::mt19937 rng(42);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_=:@+-";
  for (int i = 0; i < kIds; ++i) {
    std::string id;
    std::size_t len = 1 + rng() % 80;
    for (std::size_t j = 0; j < len; ++j) id.push_back(alphabet[rng() % alphabet.size()]);
    std::string cls = i % 2 ? "Counter" : "ChatRoom_" + std::to_string(i % 7);
    client.publish(client_subject(cls, id, "m"), "");
  }
  client.flush(std::chrono::seconds(5));
  ASSERT_TRUE(dobj::testing::wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return subjects.size() >= kIds;
      },
      std::chrono::seconds(20)));
  std::lock_guard lock(mutex);
  std::set<int> used;
  for (const auto& s : subjects) {
    auto parsed = parse_inbound_subject(s);
    EXPECT_EQ(parsed.partition, partition_of(parsed.class_name, parsed.object_id, 256)) << s;
    used.insert(parsed.partition);
  }
  EXPECT_GT(used.size(), 240u);  // the ids spread over (nearly) all partitions
}

}  // namespace
}  // namespace dobj::protocol
