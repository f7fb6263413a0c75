#pragma once

#include <chrono>
#include <string>
#include <vector>

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

}  // namespace dobj::chaos
