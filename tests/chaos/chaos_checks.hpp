#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "dobj/testing/bank_load.hpp"
#include "dobj/testing/counter_load.hpp"
#include "dobj/testing/ledger_load.hpp"

namespace dobj::chaos {

struct CheckRow {
  std::string name;
  bool passed = false;
  std::string detail;
};

// The chaos suite's verdict, from the clients' records and the database alone:
//  - every acknowledged op is stored exactly once, with the value it was acknowledged with;
//  - no client saw a counter go backwards;
//  - the commit audit shows one owner per (object, epoch) and epochs never going back;
//  - every alarm a client armed fired (waits up to `alarm_deadline` for stragglers).
std::vector<CheckRow> run_checks(const std::string& database_url,
                                 const testing::LedgerLoad::Results& results,
                                 std::chrono::milliseconds alarm_deadline);

// The un-keyed clients' verdict: every reply kept its promise, so each Counter ends within
// [acked, acked + unknown] (a refused request that was applied anyway breaks it), and no reply
// carried an error no fault explains.
std::vector<CheckRow> check_unkeyed(const std::string& database_url,
                                    const testing::CounterLoad& load);

// The bank workload's verdict, after every outbox has drained (waits up to `drain_deadline`):
// the total is exactly what was deposited; no balance is below zero; each transfer recorded at
// its sender (out/<ref>) is recorded once at its receiver (in/<ref>) with the same amount and
// nothing else was credited; every acknowledged transfer is among them and no refused one is;
// each balance is its deposit plus what came in minus what went out; no message died.
std::vector<CheckRow> check_bank(const std::string& database_url, const testing::BankLoad& load,
                                 std::chrono::milliseconds drain_deadline);

// No object is stranded: after the faults every one of them answers (retrying through handovers
// for up to `deadline`).
CheckRow check_all_answer(const std::string& nats_url, const std::vector<std::string>& counters,
                          std::chrono::milliseconds deadline);

}  // namespace dobj::chaos
