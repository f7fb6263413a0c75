#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dobj/client/client.hpp"

#include "dobj/testing/client_threads.hpp"

namespace dobj::testing {

// Clients of the Ledger test class (examples/src/ledger.hpp) that record what was acknowledged,
// for checks that nothing acknowledged is lost or applied twice. Each client thread adds to
// objects obj0..obj<N-1> in turn, one call at a time, every call with its op id as idempotency
// key, retrying through failovers; optionally one more thread arms alarms on fresh objects.
// Lifecycle: start() → ... → stop() (waits for the calls in flight).
class LedgerLoad {
 public:
  struct Options {
    std::string nats_url;
    int clients = 4;
    int objects = 32;
    std::chrono::milliseconds attempt_timeout{1000};
    std::chrono::milliseconds give_up_after{30000};  // then the outcome counts as unknown
    bool arm_alarms = false;
    std::chrono::milliseconds arm_every{250};
    std::chrono::milliseconds max_alarm_delay{6000};
  };
  using OpKey = std::pair<std::string, std::string>;  // object id, op id
  struct Results {
    std::map<OpKey, std::int64_t> acked;                      // → the n it was acknowledged with
    std::vector<std::pair<std::string, std::int64_t>> armed;  // object id, alarm epoch ms
    std::size_t unknown = 0;                                  // gave up: applied or not
    std::size_t regressions = 0;      // a client saw an object's n not above its previous reply
    std::vector<std::string> errors;  // non-retryable errors: each one is a bug
    std::map<std::string, std::size_t> retries;  // by error code: what the faults cost clients
  };

  explicit LedgerLoad(Options options);
  ~LedgerLoad();
  void start();
  void stop();
  std::size_t acked() const;
  // Complete after stop().
  const Results& results() const { return results_; }

 private:
  void run_client(int index);
  void run_armer();
  CallOptions call_options(const std::string& key);

  Options options_;
  mutable std::mutex mutex_;
  Results results_;
  ClientThreads threads_;  // last: the threads go before what they use
};

}  // namespace dobj::testing
