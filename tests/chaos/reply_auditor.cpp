#include "reply_auditor.hpp"

#include <fmt/format.h>

#include "dobj/core/error.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/reply.hpp"

namespace dobj::chaos {
namespace {

constexpr std::chrono::milliseconds kFlushTimeout{5000};

// What one reply said: "ok", or the error's code and message.
std::string answer_of(const NatsMessage& reply) {
  try {
    protocol::parse_reply(reply.header(protocol::kStatusHeader),
                          reply.header(protocol::kContentTypeHeader), reply.body);
    return "ok";
  } catch (const Error& e) {
    return fmt::format("{}: {}", to_string(e.code()), e.what());
  } catch (const std::exception& e) {
    return fmt::format("unreadable: {}", e.what());
  }
}

}  // namespace

ReplyAuditor::ReplyAuditor(const std::string& nats_url)
    : nats_({nats_url, "chaos-reply-auditor"}),
      sub_(nats_.subscribe("_INBOX.>", [this](natsMsg* msg) { on_reply(msg); })) {
  nats_.flush(kFlushTimeout);  // subscribed before the first request goes
}

void ReplyAuditor::on_reply(natsMsg* msg) {
  auto reply = NatsMessage::from(msg);
  natsMsg_Destroy(msg);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  auto said = fmt::format("{} (at {:.1f} s)", answer_of(reply), seconds);
  std::lock_guard lock(mutex_);
  ++replies_;
  auto& a = answers_[reply.subject];
  if (a.count++ == 0) {
    a.first = std::move(said);
  } else if (a.count == 2) {
    a.second = std::move(said);
  }
}

CheckRow ReplyAuditor::check() {
  std::lock_guard lock(mutex_);
  std::size_t twice = 0;
  const Answers* example = nullptr;
  for (const auto& [subject, a] : answers_) {
    if (a.count < 2) continue;
    ++twice;
    if (!example) example = &a;
  }
  return {"no request answered twice", twice == 0,
          example ? fmt::format("{} of {} requests, e.g. first {}, then {}", twice, answers_.size(),
                                example->first, example->second)
                  : fmt::format("{} replies to {} requests", replies_, answers_.size())};
}

}  // namespace dobj::chaos
