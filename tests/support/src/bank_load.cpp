#include "dobj/testing/bank_load.hpp"

#include <fmt/format.h>

#include <optional>
#include <random>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/testing/outcome.hpp"

namespace dobj::testing {
namespace {

constexpr std::int64_t kMaxTransfer = 50;
constexpr std::chrono::milliseconds kRetryPause{50};

// One attempt's outcome, as the reply promises it.
struct Attempt {
  Outcome kind = Outcome::kUnknown;  // kApplied: an answer, its value below
  Value value;
  std::string code;  // a refusal's or an error's: "no_responders" or the protocol's code
  std::string detail;
};

Attempt attempt(std::unique_ptr<NatsConnection>& nats, const std::string& nats_url,
                const std::string& subject, const Value& body,
                const std::optional<std::string>& key, std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> headers{
      {protocol::kContentTypeHeader, protocol::kJsonContentType}};
  if (key) headers[protocol::kIdempotencyKeyHeader] = *key;
  Attempt a;
  try {
    if (!nats) {
      nats = std::make_unique<NatsConnection>(NatsConnection::Options{nats_url, "bank-load", true});
    }
    auto reply = nats->request(subject, body.dump(), headers, timeout);
    if (reply.no_responders) {
      a.kind = Outcome::kRefused;
      a.code = "no_responders";
      a.detail = "NATS: no subscriber for the subject";
      return a;
    }
    a.value = protocol::parse_reply(reply.header(protocol::kStatusHeader),
                                    reply.header(protocol::kContentTypeHeader), reply.body);
    a.kind = Outcome::kApplied;
  } catch (const Error& e) {
    a.code = to_string(e.code());
    a.detail = e.what();
    a.kind = classify(e.code());
  } catch (const TransportError& e) {
    a.kind = Outcome::kUnknown;  // no reply in time: applied or not
    a.detail = e.what();
    nats.reset();
  }
  return a;
}

}  // namespace

BankLoad::BankLoad(Options options) : options_(std::move(options)) {}

BankLoad::~BankLoad() {
  stop();
}

std::vector<std::string> BankLoad::account_ids() const {
  std::vector<std::string> ids;
  for (int i = 0; i < options_.accounts; ++i) ids.push_back(options_.prefix + std::to_string(i));
  return ids;
}

bool BankLoad::deposit_all(std::chrono::milliseconds deadline) {
  std::unique_ptr<NatsConnection> nats;
  auto until = std::chrono::steady_clock::now() + deadline;
  for (const auto& id : account_ids()) {
    // Keyed: a retry after an unknown outcome cannot deposit twice.
    while (true) {
      auto a = attempt(nats, options_.nats_url, "obj.Account." + id + ".deposit",
                       {{"amount", options_.initial}}, "deposit-" + id, options_.attempt_timeout);
      if (a.kind == Outcome::kApplied) break;
      if (a.kind == Outcome::kBug || std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(kRetryPause);
    }
  }
  return true;
}

void BankLoad::start() {
  for (int i = 0; i < options_.clients; ++i) threads_.spawn([this, i] { run_client(i); });
}

void BankLoad::stop() {
  threads_.stop();
}

std::size_t BankLoad::acked() const {
  std::lock_guard lock(mutex_);
  return results_.acked.size();
}

void BankLoad::run_client(int index) {
  std::unique_ptr<NatsConnection> nats;
  std::mt19937 random(static_cast<std::uint32_t>(index) * 7919u + 17u);
  std::uniform_int_distribution<int> pick(0, options_.accounts - 1);
  std::uniform_int_distribution<std::int64_t> amount_of(1, kMaxTransfer);
  for (std::int64_t n = 0; !threads_.stopping(); ++n) {
    int from_index = pick(random);
    int to_index = (from_index + 1 + pick(random) % (options_.accounts - 1)) % options_.accounts;
    Transfer t{options_.prefix + std::to_string(from_index),
               options_.prefix + std::to_string(to_index), amount_of(random)};
    auto ref = fmt::format("c{}n{}", index, n);
    // Every other pair of transfers is a pull: the receiving account asks (an awaited call).
    bool pull = (n / 2) % 2 == 1;
    Value body = pull ? Value{{"from", t.from}, {"amount", t.amount}, {"ref", ref}}
                      : Value{{"to", t.to}, {"amount", t.amount}, {"ref", ref}};
    auto subject = "obj.Account." + (pull ? t.to + ".pull" : t.from + ".transfer");
    bool keyed = n % 2 == 0;
    Attempt a;
    bool was_unknown = false;
    auto until = std::chrono::steady_clock::now() + options_.keyed_deadline;
    while (true) {
      a = attempt(nats, options_.nats_url, subject, body,
                  keyed ? std::optional<std::string>(ref) : std::nullopt, options_.attempt_timeout);
      was_unknown = was_unknown || a.kind == Outcome::kUnknown;
      // A keyed transfer asks again until it has an answer: the key makes that safe.
      if (!keyed || a.kind == Outcome::kApplied || a.kind == Outcome::kBug ||
          std::chrono::steady_clock::now() > until || threads_.stopping()) {
        break;
      }
      std::this_thread::sleep_for(kRetryPause);
    }
    // A refusal says nothing of an earlier attempt that may have been applied.
    if (a.kind == Outcome::kRefused && was_unknown) a.kind = Outcome::kUnknown;
    {
      std::lock_guard lock(mutex_);
      switch (a.kind) {
        case Outcome::kApplied: {
          auto balance = a.value.value("balance", std::int64_t{-1});
          if (balance < 0) results_.errors.push_back(ref + ": balance " + a.value.dump());
          if (a.value.value("ok", false)) {
            results_.acked[ref] = t;
          } else {
            results_.refused[ref] = {"short of funds", ""};
            ++results_.short_funds;
          }
          break;
        }
        case Outcome::kRefused:
          results_.refused[ref] = {
              a.code, fmt::format("{} at {:.1f} s", a.detail, threads_.seconds_running())};
          break;
        case Outcome::kUnknown:
          results_.unknown[ref] = t;
          break;
        case Outcome::kBug:
          results_.unknown[ref] = t;  // its fate is unknown too, but the reply itself is wrong
          results_.errors.push_back(ref + ": " + a.code + ": " + a.detail);
          break;
      }
    }
    std::this_thread::sleep_for(options_.pause);
  }
}

}  // namespace dobj::testing
