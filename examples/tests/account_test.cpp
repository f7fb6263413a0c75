// Account in memory (ObjectHarness): balances, refusals, and the credit a transfer sends.
#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/examples/register_examples.hpp"
#include "dobj/runtime/object_harness.hpp"

namespace dobj::examples {
namespace {

class AccountTest : public ::testing::Test {
 protected:
  AccountTest() { register_examples(registry_); }
  static ErrorCode code_of(ObjectHarness& account, const std::string& method, const Value& arg) {
    try {
      account.call(method, arg);
    } catch (const Error& e) {
      return e.code();
    }
    ADD_FAILURE() << method << " " << arg.dump() << " succeeded";
    return ErrorCode::kHandlerError;
  }
  ClassRegistry registry_;
};

TEST_F(AccountTest, ATransferDebitsHereAndSendsTheCreditInTheSameTurn) {
  ObjectHarness alice(registry_, "Account", "alice");
  EXPECT_EQ(alice.call("deposit", {{"amount", 100}}), Value({{"balance", 100}}));
  EXPECT_EQ(alice.call("transfer", {{"to", "bob"}, {"amount", 30}}),
            Value({{"ok", true}, {"balance", 70}}));
  auto sent = alice.take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].class_name, "Account");
  EXPECT_EQ(sent[0].object_id, "bob");
  EXPECT_EQ(sent[0].method, "credit");
  EXPECT_EQ(sent[0].argument, Value({{"from", "alice"}, {"amount", 30}}));

  ObjectHarness bob(registry_, "Account", "bob");
  EXPECT_EQ(bob.call("credit", sent[0].argument), Value({{"balance", 30}}));
  EXPECT_EQ(alice.call("balance"), 70);
}

TEST_F(AccountTest, ARefRecordsTheTransferAtBothEnds) {
  ObjectHarness alice(registry_, "Account", "alice");
  alice.call("deposit", {{"amount", 5}});
  alice.call("transfer", {{"to", "bob"}, {"amount", 5}, {"ref", "t1"}});
  auto sent = alice.take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].argument, Value({{"from", "alice"}, {"amount", 5}, {"ref", "t1"}}));
  EXPECT_EQ(alice.stored().count("out/t1"), 1u);
  ObjectHarness bob(registry_, "Account", "bob");
  bob.call("credit", sent[0].argument);
  EXPECT_EQ(bob.stored().count("in/t1"), 1u);
}

TEST_F(AccountTest, ShortFundsChangeNothingAndSendNothing) {
  ObjectHarness alice(registry_, "Account", "alice");
  alice.call("deposit", {{"amount", 10}});
  EXPECT_EQ(alice.call("transfer", {{"to", "bob"}, {"amount", 11}}),
            Value({{"ok", false}, {"balance", 10}}));
  EXPECT_TRUE(alice.take_sent().empty());
  EXPECT_EQ(alice.call("balance"), 10);
}

TEST_F(AccountTest, BadAmountsAndAccountsAreBadRequests) {
  ObjectHarness alice(registry_, "Account", "alice");
  alice.call("deposit", {{"amount", 10}});
  // 10^15 + 1 is one over the largest amount.
  std::vector<Value> bad{Value({{"amount", 0}}),
                         Value({{"amount", -5}}),
                         Value({{"amount", 1.5}}),
                         Value({{"amount", "7"}}),
                         Value::object(),
                         Value(nullptr),
                         Value({{"amount", 1'000'000'000'000'001}})};
  for (const auto& arg : bad) {
    EXPECT_EQ(code_of(alice, "deposit", arg), ErrorCode::kBadRequest) << arg.dump();
  }
  EXPECT_EQ(code_of(alice, "transfer", {{"to", "alice"}, {"amount", 1}}), ErrorCode::kBadRequest);
  EXPECT_EQ(code_of(alice, "transfer", {{"to", "no spaces"}, {"amount", 1}}),
            ErrorCode::kBadRequest);
  EXPECT_EQ(code_of(alice, "transfer", {{"amount", 1}}), ErrorCode::kBadRequest);
  // A refused turn leaves no trace: nothing debited, nothing sent.
  EXPECT_EQ(alice.call("balance"), 10);
  EXPECT_TRUE(alice.take_sent().empty());
}

}  // namespace
}  // namespace dobj::examples
