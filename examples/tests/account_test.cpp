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

TEST_F(AccountTest, APullWithdrawsThereThenCreditsHere) {
  ObjectHarness alice(registry_, "Account", "alice"), bob(registry_, "Account", "bob");
  bob.call("deposit", {{"amount", 50}});
  EXPECT_EQ(alice.call("pull", {{"from", "bob"}, {"amount", 20}, {"ref", "p1"}}), nullptr);
  auto calls = alice.take_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].object_id, "bob");
  EXPECT_EQ(calls[0].method, "withdraw");
  // Bob's side, as the call reaches it (twice: a resend changes nothing).
  auto withdrawn = bob.call("withdraw", calls[0].argument);
  EXPECT_EQ(withdrawn, Value({{"ok", true}}));
  EXPECT_EQ(bob.call("withdraw", calls[0].argument), Value({{"ok", true}}));
  EXPECT_EQ(bob.call("balance"), 30);
  EXPECT_EQ(alice.resume(calls[0], withdrawn), Value({{"ok", true}, {"balance", 20}}));
  EXPECT_EQ(alice.call("balance"), 20);
  // Short of funds: nothing moves.
  alice.call("pull", {{"from", "bob"}, {"amount", 31}, {"ref", "p2"}});
  calls = alice.take_calls();
  ASSERT_EQ(calls.size(), 1u);
  auto refused = bob.call("withdraw", calls[0].argument);
  EXPECT_EQ(refused, Value({{"ok", false}}));
  EXPECT_EQ(alice.resume(calls[0], refused), Value({{"ok", false}, {"balance", 20}}));
  EXPECT_TRUE(alice.take_sent().empty());
  EXPECT_EQ(bob.call("balance"), 30);
}

TEST_F(AccountTest, APullThatTimesOutCancelsTheWithdrawalWhetherItHappenedOrNot) {
  ObjectHarness alice(registry_, "Account", "alice"), bob(registry_, "Account", "bob");
  bob.call("deposit", {{"amount", 50}});
  for (bool applied_first : {true, false}) {
    std::string ref = applied_first ? "late-cancel" : "early-cancel";
    alice.call("pull", {{"from", "bob"}, {"amount", 10}, {"ref", ref}});
    auto calls = alice.take_calls();
    ASSERT_EQ(calls.size(), 1u);
    if (applied_first) {
      EXPECT_EQ(bob.call("withdraw", calls[0].argument), Value({{"ok", true}}));
    }
    EXPECT_EQ(alice.resume(calls[0], Error(ErrorCode::kTimeout, "no answer in time")),
              Value({{"ok", false}, {"balance", 0}}));
    auto sent = alice.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].method, "cancel");
    bob.call("cancel", sent[0].argument);
    // A withdrawal arriving after its cancel is refused.
    EXPECT_EQ(bob.call("withdraw", calls[0].argument), Value({{"ok", false}}));
    EXPECT_EQ(bob.call("balance"), 50) << ref;
  }
  EXPECT_EQ(alice.call("balance"), 0);
  EXPECT_EQ(code_of(alice, "pull", {{"from", "alice"}, {"amount", 1}, {"ref", "r"}}),
            ErrorCode::kBadRequest);
  EXPECT_EQ(code_of(alice, "pull", {{"from", "bob"}, {"amount", 1}}), ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace dobj::examples
