#include "dobj/examples/register_examples.hpp"

#include "account.hpp"
#include "chat_room.hpp"
#include "counter.hpp"
#include "document.hpp"
#include "lock.hpp"
#include "rate_limiter.hpp"

namespace dobj::examples {

void register_examples(ClassRegistry& registry) {
  registry.add<Counter>("Counter")
      .method("inc", &Counter::inc)
      .method("get", &Counter::get)
      .method("reset", &Counter::reset)
      .method("add_from", &Counter::add_from)
      .continuation("added", &Counter::added);
  registry.add<ChatRoom>("ChatRoom")
      .method("join", &ChatRoom::join)
      .method("post", &ChatRoom::post)
      .method("history", &ChatRoom::history);
  registry.add<Document>("Document")
      .method("write", &Document::write)
      .method("read", &Document::read)
      .method("history", &Document::history)
      .method("revert", &Document::revert);
  registry.add<Lock>("Lock")
      .method("acquire", &Lock::acquire)
      .method("release", &Lock::release)
      .method("holder", &Lock::holder)
      .alarm(&Lock::alarm);
  registry.add<RateLimiter>("RateLimiter")
      .method("configure", &RateLimiter::configure)
      .method("take", &RateLimiter::take)
      .method("status", &RateLimiter::status)
      .alarm(&RateLimiter::alarm);
  registry.add<Account>("Account")
      .method("deposit", &Account::deposit)
      .method("balance", &Account::balance)
      .method("transfer", &Account::transfer)
      .method("credit", &Account::credit)
      .method("pull", &Account::pull)
      .method("withdraw", &Account::withdraw)
      .method("cancel", &Account::cancel)
      .continuation("pulled", &Account::pulled);
}

}  // namespace dobj::examples
