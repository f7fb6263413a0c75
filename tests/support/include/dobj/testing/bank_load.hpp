#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dobj/testing/client_threads.hpp"

namespace dobj::testing {

// The bank workload (the classic test of transactional systems) on the Account example: every
// account gets `initial` once (keyed deposits), then client threads transfer random amounts
// between random accounts, each with a unique ref (recorded by the accounts at both ends):
// half as a transfer from the payer (its credit a durable message), half as a pull by the payee
// (an awaited call of the payer's withdraw; cancelled when its outcome is unknown).
// Even transfers carry an idempotency key (the ref) and are retried until their outcome is
// known; odd ones are tried once and classified by what the reply promises (counter_load.hpp),
// a keyed one by all of its attempts (an unknown one before a refused last leaves it unknown):
//   acked   — {"ok": true}: the debit is applied, the credit is on its way (ctx.send) or, for a
//             pull, applied;
//   refused — {"ok": false} (funds short) or an error promising "not applied";
//   unknown — no reply in time, or unknown_outcome.
// A balance below zero in any reply is recorded as an error.
// Lifecycle: deposit_all() → start() → ... → stop() (waits for the calls in flight).
class BankLoad {
 public:
  struct Options {
    std::string nats_url;
    int clients = 2;
    int accounts = 24;
    std::int64_t initial = 1000;
    std::string prefix = "bank";
    std::chrono::milliseconds attempt_timeout{2000};
    std::chrono::milliseconds keyed_deadline{30'000};  // a keyed transfer's retries, in all
    std::chrono::milliseconds pause{5};
  };
  struct Transfer {
    std::string from;
    std::string to;
    std::int64_t amount = 0;
  };
  // Why a transfer counts as refused: "short of funds", or an error's code and its text (when).
  struct Refusal {
    std::string code;
    std::string detail;
  };
  struct Results {
    std::map<std::string, Transfer> acked;    // by ref
    std::map<std::string, Transfer> unknown;  // by ref
    std::map<std::string, Refusal> refused;   // by ref
    std::size_t short_funds = 0;
    std::vector<std::string> errors;  // replies no fault explains, negative balances
  };

  explicit BankLoad(Options options);
  ~BankLoad();
  // Deposits `initial` into every account (keyed, retried): false if that failed by `deadline`.
  bool deposit_all(std::chrono::milliseconds deadline);
  void start();
  void stop();
  std::size_t acked() const;
  const Results& results() const { return results_; }
  const Options& options() const { return options_; }
  std::vector<std::string> account_ids() const;

 private:
  void run_client(int index);

  Options options_;
  mutable std::mutex mutex_;
  Results results_;
  ClientThreads threads_;  // last: the threads go before what they use
};

}  // namespace dobj::testing
