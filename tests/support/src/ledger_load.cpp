#include "dobj/testing/ledger_load.hpp"

#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"

namespace dobj::testing {
namespace {

// Retryable errors and timeouts leave a gave-up call's outcome unknown; anything else is a bug.
bool outcome_unknown(const Error& e) {
  return e.retryable() || e.code() == ErrorCode::kTimeout;
}

}  // namespace

LedgerLoad::LedgerLoad(Options options) : options_(std::move(options)) {}

LedgerLoad::~LedgerLoad() {
  stop();
}

void LedgerLoad::start() {
  for (int c = 0; c < options_.clients; ++c) threads_.spawn([this, c] { run_client(c); });
  if (options_.arm_alarms) threads_.spawn([this] { run_armer(); });
}

void LedgerLoad::stop() {
  threads_.stop();
}

std::size_t LedgerLoad::acked() const {
  std::lock_guard lock(mutex_);
  return results_.acked.size();
}

CallOptions LedgerLoad::call_options(const std::string& key) {
  CallOptions call;
  call.timeout = options_.attempt_timeout;
  call.max_attempts = 1'000'000;  // bounded by total_timeout
  call.total_timeout = options_.give_up_after;
  call.idempotency_key.emplace(key);
  call.on_retry = [this](const Error& e) {
    std::lock_guard lock(mutex_);
    ++results_.retries[std::string(to_string(e.code()))];
  };
  return call;
}

void LedgerLoad::run_client(int index) {
  NatsConnection nats({options_.nats_url, "ledger-client", true});
  Client client(nats);
  std::map<std::string, std::int64_t> last_seen;
  for (std::int64_t seq = 0; !threads_.stopping(); ++seq) {
    auto id = "obj" + std::to_string(seq % options_.objects);
    auto op = "c" + std::to_string(index) + "-" + std::to_string(seq);
    try {
      auto n =
          client.call("Ledger", id, "add", {{"op", op}}, call_options(op))["n"].get<std::int64_t>();
      std::lock_guard lock(mutex_);
      if (n <= last_seen[id]) ++results_.regressions;
      last_seen[id] = n;
      results_.acked[{id, op}] = n;
    } catch (const Error& e) {
      std::lock_guard lock(mutex_);
      if (outcome_unknown(e)) {
        ++results_.unknown;
      } else {
        results_.errors.push_back(op + ": " + e.what());
      }
    }
  }
}

void LedgerLoad::run_armer() {
  NatsConnection nats({options_.nats_url, "ledger-armer", true});
  Client client(nats);
  for (std::int64_t k = 0; !threads_.stopping(); ++k) {
    auto id = "alarm" + std::to_string(k);
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto at = now_ms + 200 + (k * 7919) % options_.max_alarm_delay.count();
    try {
      client.call("Ledger", id, "arm", {{"at_ms", at}}, call_options(id));
      std::lock_guard lock(mutex_);
      results_.armed.emplace_back(id, at);
    } catch (const Error& e) {
      std::lock_guard lock(mutex_);
      if (!outcome_unknown(e)) {
        results_.errors.push_back(id + ": " + e.what());
      }
    }
    std::this_thread::sleep_for(options_.arm_every);
  }
}

}  // namespace dobj::testing
