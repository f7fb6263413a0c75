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

void from_json(const Value& json, PullArgs& args) {
  args.amount = amount_of(json);
  args.from = account_id(json, "from");
  args.ref = require_string(json, "ref", kMaxRefBytes);
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

void Account::pull(Context& ctx, const PullArgs& args) {
  if (args.from == ctx.object_id()) {
    throw Error(ErrorCode::kBadRequest, "'from' must be another account");
  }
  ctx.call("Account", args.from, "withdraw",
           {{"to", ctx.object_id()}, {"amount", args.amount}, {"ref", args.ref}}, "pulled",
           {{"from", args.from}, {"amount", args.amount}, {"ref", args.ref}});
}

Value Account::pulled(Context& ctx, const CallResult& withdrawn) {
  const auto& c = withdrawn.carry;
  auto ref = c["ref"].get<std::string>();
  if (withdrawn.ok && withdrawn.value.value("ok", false)) {
    ctx.storage().put("in/" + ref, {{"from", c["from"]}, {"amount", c["amount"]}});
    return {{"ok", true}, {"balance", add(ctx, c["amount"].get<std::int64_t>())}};
  }
  if (!withdrawn.ok) {
    // A timeout or a failure: the withdrawal may have happened. The cancel travels in this
    // commit and undoes it there, or forbids it if it is still to come.
    ctx.send("Account", c["from"].get<std::string>(), "cancel", {{"ref", ref}});
  }
  return {{"ok", false}, {"balance", balance(ctx)}};
}

Value Account::withdraw(Context& ctx, const TransferArgs& args) {
  if (ctx.storage().get("cancelled/" + args.ref)) return {{"ok", false}};
  if (ctx.storage().get("out/" + args.ref)) return {{"ok", true}};  // this ref again
  auto current = balance(ctx);
  if (args.ref.empty() || args.to == ctx.object_id() || current < args.amount) {
    return {{"ok", false}};
  }
  ctx.storage().put(kBalanceKey, current - args.amount);
  ctx.storage().put("out/" + args.ref, {{"to", args.to}, {"amount", args.amount}});
  return {{"ok", true}};
}

void Account::cancel(Context& ctx, const Value& args) {
  auto ref = require_string(require_object(args, "cancel"), "ref", kMaxRefBytes);
  ctx.storage().put("cancelled/" + ref, true);
  if (auto out = ctx.storage().get("out/" + ref)) {
    ctx.storage().del("out/" + ref);
    add(ctx, (*out)["amount"].get<std::int64_t>());
  }
}

}  // namespace dobj::examples
