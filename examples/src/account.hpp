#pragma once

#include <cstdint>
#include <string>

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

struct AmountArgs {
  std::int64_t amount = 0;
};
void from_json(const Value& json, AmountArgs& args);

struct TransferArgs {
  std::string to;
  std::int64_t amount = 0;
  std::string ref;  // optional: the transfer recorded at both ends under it
};
void from_json(const Value& json, TransferArgs& args);

struct CreditArgs {
  std::string from;
  std::int64_t amount = 0;
  std::string ref;
};
void from_json(const Value& json, CreditArgs& args);

// pull's argument; withdraw's is {"to", "amount", "ref"}, cancel's {"ref"}.
struct PullArgs {
  std::string from;
  std::int64_t amount = 0;
  std::string ref;  // required: the withdrawal is recorded, and cancelled, under it
};
void from_json(const Value& json, PullArgs& args);

// A bank account in whole units, never below zero (schemas/examples.md). A transfer debits this
// account and sends the credit to the other one as a durable message (ctx.send) in the same
// commit: the money is always in exactly one place, or on its way in dobj.outbox. A pull is
// the awaited way round (ctx.call): this account asks the other to withdraw and credits itself
// when it has; when the call fails or times out, it cannot know whether the withdrawal happened,
// so it sends a durable `cancel` that refunds it if it did and forbids it if it comes later.
class Account : public Object {
 public:
  static constexpr std::int64_t kMaxAmount = 1'000'000'000'000'000;  // 10^15 a deposit or transfer

  Value deposit(Context& ctx, const AmountArgs& args);
  std::int64_t balance(Context& ctx);
  Value transfer(Context& ctx, const TransferArgs& args);
  // The other half of a transfer, delivered by the outbox (applied once per message).
  Value credit(Context& ctx, const CreditArgs& args);
  // Takes `amount` from Account.<from> (an awaited call of its withdraw); answered by `pulled`.
  void pull(Context& ctx, const PullArgs& args);
  Value pulled(Context& ctx, const CallResult& withdrawn);
  // The other halves of a pull: applied once per call, and per ref.
  Value withdraw(Context& ctx, const TransferArgs& args);
  void cancel(Context& ctx, const Value& args);

 private:
  static std::int64_t add(Context& ctx, std::int64_t amount);
};

}  // namespace dobj::examples
