#include "retired_messages.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dobj {
namespace {

int destroyed = 0;

void count_and_destroy(natsMsg* msg) {
  ++destroyed;
  natsMsg_Destroy(msg);
}

natsMsg* message(std::size_t body_bytes) {
  std::string body(body_bytes, 'x');
  natsMsg* msg = nullptr;
  EXPECT_EQ(natsMsg_Create(&msg, "a.subject", nullptr, body.data(), static_cast<int>(body.size())),
            NATS_OK);
  return msg;
}

class RetiredMessagesTest : public ::testing::Test {
 protected:
  // A connection opens cnats' library; these messages have none to do it.
  static void SetUpTestSuite() { ASSERT_EQ(nats_Open(-1), NATS_OK); }
  void SetUp() override { destroyed = 0; }
};

TEST_F(RetiredMessagesTest, SmallMessagesWaitUntilABatchIsFull) {
  RetiredMessages retired(count_and_destroy);
  for (std::size_t i = 0; i + 1 < RetiredMessages::kBatch; ++i) retired.add(message(10));
  EXPECT_EQ(destroyed, 0);
  retired.add(message(10));
  EXPECT_EQ(destroyed, static_cast<int>(RetiredMessages::kBatch));
  retired.add(message(10));
  EXPECT_EQ(destroyed, static_cast<int>(RetiredMessages::kBatch));
}

TEST_F(RetiredMessagesTest, LargeMessagesDoNotWaitPastTheByteBound) {
  RetiredMessages retired(count_and_destroy);
  retired.add(message(RetiredMessages::kBytes / 2));
  EXPECT_EQ(destroyed, 0);
  retired.add(message(RetiredMessages::kBytes / 2));
  EXPECT_EQ(destroyed, 2);
}

TEST_F(RetiredMessagesTest, ReleaseAndTheDestructorDestroyWhatWaits) {
  {
    RetiredMessages retired(count_and_destroy);
    retired.add(message(1));
    retired.add(nullptr);
    retired.release();
    EXPECT_EQ(destroyed, 1);
    retired.add(message(1));
    retired.add(message(1));
    EXPECT_EQ(destroyed, 1);
  }
  EXPECT_EQ(destroyed, 3);
}

}  // namespace
}  // namespace dobj
