// NatsOutbox against a real nats-server: which connection a reply leaves by, and that a reply to
// deliver now has left the process when reply() returns.
#include "nats_outbox.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "dobj/protocol/headers.hpp"
#include "dobj/testing/nats_server.hpp"
#include "dobj/testing/process.hpp"

namespace dobj {
namespace {

using namespace std::chrono_literals;
using Delivery = Outbox::Delivery;

std::uint64_t messages_sent(const NatsConnection& nats) {
  natsStatistics* stats = nullptr;
  natsStatistics_Create(&stats);
  natsConnection_GetStats(nats.raw(), stats);
  std::uint64_t out = 0;
  natsStatistics_GetCounts(stats, nullptr, nullptr, &out, nullptr, nullptr);
  natsStatistics_Destroy(stats);
  return out;
}

class NatsOutboxTest : public ::testing::Test {
 protected:
  NatsOutboxTest() {
    subscription_ = client_.subscribe("_INBOX.outbox-test.>", [this](natsMsg* raw) {
      auto m = NatsMessage::from(raw);
      natsMsg_Destroy(raw);
      std::lock_guard lock(mutex_);
      received_.push_back(std::move(m));
    });
    client_.flush(5s);
    outbox_.start();
  }
  ~NatsOutboxTest() override { outbox_.stop(); }

  std::size_t received() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  NatsMessage last() {
    std::lock_guard lock(mutex_);
    return received_.back();
  }

  testing::NatsServer server_;
  NatsConnection main_{NatsConnection::Options{server_.service_url(), "outbox-main"}};
  NatsConnection direct_{NatsConnection::Options{server_.service_url(), "outbox-direct", true}};
  NatsConnection client_{NatsConnection::Options{server_.client_url(), "outbox-client"}};
  NatsOutbox outbox_{main_, &direct_, [](std::vector<store::DurableMessage>) {}};
  NatsSubscription subscription_;
  std::mutex mutex_;
  std::vector<NatsMessage> received_;
};

TEST_F(NatsOutboxTest, AReplyToDeliverNowHasLeftOnTheDirectConnectionWhenReplyReturns) {
  auto main_before = messages_sent(main_);
  auto reply = protocol::ok_reply(protocol::ContentType::kJson, Value(7));
  outbox_.reply("_INBOX.outbox-test.1", reply, Delivery::kNow);
  EXPECT_EQ(messages_sent(direct_), 1u);
  EXPECT_EQ(natsConnection_Buffered(direct_.raw()), 0) << "still in the process";
  EXPECT_EQ(messages_sent(main_), main_before);
  ASSERT_TRUE(testing::wait_until([&] { return received() == 1; }, 5s));
  EXPECT_EQ(last().subject, "_INBOX.outbox-test.1");
  EXPECT_EQ(last().body, "7");
  EXPECT_EQ(last().header(protocol::kStatusHeader), protocol::kStatusOk);
}

TEST_F(NatsOutboxTest, BufferedRepliesAndEventsGoOnTheMainConnection) {
  auto main_before = messages_sent(main_);
  outbox_.reply("_INBOX.outbox-test.2", protocol::ok_reply(protocol::ContentType::kJson, Value(1)),
                Delivery::kBuffered);
  outbox_.event("_INBOX.outbox-test.event", "{}", "");
  outbox_.flush();
  EXPECT_EQ(messages_sent(main_), main_before + 2);
  EXPECT_EQ(messages_sent(direct_), 0u);
  ASSERT_TRUE(testing::wait_until([&] { return received() == 2; }, 5s));
}

TEST_F(NatsOutboxTest, WhileTheDirectConnectionIsDownAReplyToDeliverNowTakesTheMainOne) {
  natsConnection_Close(direct_.raw());
  auto main_before = messages_sent(main_);
  outbox_.reply("_INBOX.outbox-test.3", protocol::ok_reply(protocol::ContentType::kJson, Value(3)),
                Delivery::kNow);
  EXPECT_EQ(messages_sent(main_), main_before + 1);
  ASSERT_TRUE(testing::wait_until([&] { return received() == 1; }, 5s));
  EXPECT_EQ(last().body, "3");
}

}  // namespace
}  // namespace dobj
