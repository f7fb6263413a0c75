#include "account.hpp"

#include "arguments.hpp"
#include "dobj/core/names.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kBalanceKey = "balance";
constexpr std::size_t kMaxIdBytes = 200;
constexpr std::size_t kMaxRefBytes = 128;

std::int64_t amount_of(const Value& json) {
  require_object(json, "this method");
  if (!json.contains("amount")) throw Error(ErrorCode::kBadRequest, "'amount' is required");
  return optional_int(json, "amount", 0, 1, Account::kMaxAmount);
}

std::string account_id(const Value& json, const char* field) {
  auto id = require_string(json, field, kMaxIdBytes);
  if (!is_valid_object_id(id)) {
    throw Error(ErrorCode::kBadRequest, std::string("'") + field + "' is not a valid object id");
  }
  return id;
}

std::string optional_ref(const Value& json) {
  return json.contains("ref") ? require_string(json, "ref", kMaxRefBytes) : std::string();
}
}  // namespace

void from_json(const Value& json, AmountArgs& args) {
  args.amount = amount_of(json);
}

void from_json(const Value& json, TransferArgs& args) {
  args.amount = amount_of(json);
  args.to = account_id(json, "to");
  args.ref = optional_ref(json);
}

void from_json(const Value& json, CreditArgs& args) {
  args.amount = amount_of(json);
  args.from = account_id(json, "from");
  args.ref = optional_ref(json);
}

std::int64_t Account::add(Context& ctx, std::int64_t amount) {
  std::int64_t next = 0;
  if (__builtin_add_overflow(ctx.storage().get_or<std::int64_t>(kBalanceKey, 0), amount, &next)) {
    throw Error(ErrorCode::kBadRequest, "the balance would overflow a 64-bit integer");
  }
  ctx.storage().put(kBalanceKey, next);
  return next;
}

Value Account::deposit(Context& ctx, const AmountArgs& args) {
  return {{"balance", add(ctx, args.amount)}};
}

std::int64_t Account::balance(Context& ctx) {
  return ctx.storage().get_or<std::int64_t>(kBalanceKey, 0);
}

Value Account::transfer(Context& ctx, const TransferArgs& args) {
  if (args.to == ctx.object_id()) {
    throw Error(ErrorCode::kBadRequest, "'to' must be another account");
  }
  auto current = balance(ctx);
  if (current < args.amount) return {{"ok", false}, {"balance", current}};
  ctx.storage().put(kBalanceKey, current - args.amount);
  Value credit = {{"from", ctx.object_id()}, {"amount", args.amount}};
  if (!args.ref.empty()) {
    ctx.storage().put("out/" + args.ref, {{"to", args.to}, {"amount", args.amount}});
    credit["ref"] = args.ref;
  }
  ctx.send("Account", args.to, "credit", credit);
  return {{"ok", true}, {"balance", current - args.amount}};
}

Value Account::credit(Context& ctx, const CreditArgs& args) {
  if (!args.ref.empty()) {
    ctx.storage().put("in/" + args.ref, {{"from", args.from}, {"amount", args.amount}});
  }
  return {{"balance", add(ctx, args.amount)}};
}

}  // namespace dobj::examples
