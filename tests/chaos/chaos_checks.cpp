#include "chaos_checks.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "dobj/client/client.hpp"
#include "dobj/store/database.hpp"
#include "dobj/testing/process.hpp"

namespace dobj::chaos {
namespace {

// A failed check names this many of the objects that failed it.
constexpr std::size_t kShownViolations = 3;

using Kv = std::map<std::string, std::map<std::string, std::string>>;  // id → key → value text

// The checks read every object's keys through dobj_admin.kv(), one shard round trip per object
// on a sharded cluster: thousands of objects after a long run take longer than the services'
// statement timeout, which a test's own reading need not keep.
std::unique_ptr<pqxx::connection> connect_for_checks(const std::string& database_url) {
  auto conn = store::connect(database_url);
  pqxx::nontransaction tx(*conn);
  tx.exec0("SET statement_timeout = 0");
  return conn;
}

// Every Ledger object's keys, decoded (values as JSON text).
Kv load_ledgers(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  auto rows = tx.exec(
      "SELECT o.id, k.key, k.value #>> '{}' FROM dobj_admin.objects o, "
      "LATERAL dobj_admin.kv(o.class, o.id) k WHERE o.class = 'Ledger'");
  Kv kv;
  for (const auto& r : rows) kv[r[0].c_str()][r[1].c_str()] = r[2].c_str();
  return kv;
}

std::int64_t scalar(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

CheckRow check_acknowledged(const Kv& kv, const testing::LedgerLoad::Results& results) {
  std::size_t missing = 0, wrong = 0;
  for (const auto& [key, n] : results.acked) {
    auto obj = kv.find(key.first);
    const std::map<std::string, std::string> none;
    const auto& keys = obj == kv.end() ? none : obj->second;
    auto it = keys.find("op:" + key.second);
    if (it == keys.end()) {
      ++missing;
    } else if (it->second != std::to_string(n)) {
      ++wrong;
    }
  }
  // Exactly once: no op applied twice, and each object's n counts its distinct ops.
  std::int64_t dups = 0, miscounted = 0;
  for (const auto& [id, keys] : kv) {
    if (id.rfind("obj", 0) != 0) continue;
    std::int64_t ops = 0;
    for (const auto& [k, v] : keys) ops += k.rfind("op:", 0) == 0;
    if (auto d = keys.find("dups"); d != keys.end()) dups += std::stoll(d->second);
    auto n = keys.count("n") ? std::stoll(keys.at("n")) : 0;
    if (n != ops) ++miscounted;
  }
  return {"acknowledged increments stored exactly once",
          missing == 0 && wrong == 0 && dups == 0 && miscounted == 0,
          fmt::format("{} acknowledged ({} unknown outcome); missing {}, wrong value {}, applied "
                      "twice {}, objects whose count disagrees with their ops {}",
                      results.acked.size(), results.unknown, missing, wrong, dups, miscounted)};
}

CheckRow check_audit(pqxx::connection& conn) {
  auto audited = scalar(conn, "SELECT count(*) FROM dobj_admin.commit_audit");
  auto shared_epochs = scalar(conn,
                              "SELECT count(*) FROM (SELECT 1 FROM dobj_admin.commit_audit "
                              "GROUP BY class, id, epoch HAVING count(DISTINCT owner) > 1) x");
  auto back = scalar(conn,
                     "SELECT count(*) FROM (SELECT epoch < lag(epoch) OVER (PARTITION BY class, "
                     "id ORDER BY version) AS back FROM dobj_admin.commit_audit) x WHERE back");
  auto repeated = scalar(conn,
                         "SELECT count(*) FROM (SELECT 1 FROM dobj_admin.commit_audit "
                         "GROUP BY class, id, version HAVING count(*) > 1) x");
  auto owners = scalar(conn, "SELECT count(DISTINCT owner) FROM dobj_admin.commit_audit");
  return {"no overlapping ownership (commit audit)",
          audited > 0 && shared_epochs == 0 && back == 0 && repeated == 0,
          fmt::format("{} commits by {} worker registrations; epochs with two owners {}, epoch "
                      "going back {}, version committed twice {}",
                      audited, owners, shared_epochs, back, repeated)};
}

CheckRow check_alarms(pqxx::connection& conn, const testing::LedgerLoad::Results& results,
                      std::chrono::milliseconds deadline) {
  // Alarms still pending (retries back off) get time to fire before the verdict.
  testing::wait_until(
      [&] {
        return scalar(conn, "SELECT count(*) FROM dobj_admin.alarms WHERE class = 'Ledger'") == 0;
      },
      deadline, std::chrono::milliseconds(250));
  auto kv = load_ledgers(conn);
  std::size_t missed = 0;
  for (const auto& [id, at] : results.armed) {
    auto obj = kv.find(id);
    if (obj == kv.end() || !obj->second.count("fired:" + std::to_string(at))) ++missed;
  }
  auto pending = scalar(conn, "SELECT count(*) FROM dobj_admin.alarms WHERE class = 'Ledger'");
  auto dead = scalar(conn, "SELECT count(*) FROM dobj_admin.dead_alarms WHERE class = 'Ledger'");
  std::string stuck;
  if (pending > 0) {
    pqxx::nontransaction tx(conn);
    auto r = tx.exec(
        "SELECT a.id || ' due ' || a.due_at || ' state ' || a.state || ' retries ' || "
        "a.retry_count || ' timer ' || coalesce(a.timer::text, '-') || ' error ' || "
        "coalesce(a.last_error, '-') || ' timers live ' || (SELECT string_agg(t.id || ':' || "
        "t.live, ',') FROM dobj_admin.timers t) FROM dobj_admin.alarms a LIMIT 1");
    stuck = "; e.g. " + std::string(r[0][0].c_str());
  }
  return {"every armed alarm fired", !results.armed.empty() && missed == 0 && dead == 0,
          fmt::format("{} armed and acknowledged; not fired {}, still pending {}, dead {}{}",
                      results.armed.size(), missed, pending, dead, stuck)};
}

}  // namespace

std::vector<CheckRow> run_checks(const std::string& database_url,
                                 const testing::LedgerLoad::Results& results,
                                 std::chrono::milliseconds alarm_deadline) {
  auto conn = connect_for_checks(database_url);
  std::vector<CheckRow> rows;
  rows.push_back(check_acknowledged(load_ledgers(*conn), results));
  rows.push_back({"no client saw a counter go backwards", results.regressions == 0,
                  fmt::format("{} regressions", results.regressions)});
  rows.push_back({"no request failed with a non-retryable error", results.errors.empty(),
                  results.errors.empty() ? "none" : results.errors.front()});
  rows.push_back(check_audit(*conn));
  rows.push_back(check_alarms(*conn, results, alarm_deadline));
  return rows;
}

std::vector<CheckRow> check_unkeyed(const std::string& database_url,
                                    const testing::CounterLoad& load) {
  auto violations = load.violations_in(database_url);
  const auto& r = load.results();
  std::int64_t acked = 0, refused = 0, unknown = 0;
  std::map<std::string, std::int64_t> by_code;
  for (const auto& [id, t] : r.objects) {
    acked += t.acked;
    refused += t.refused;
    unknown += t.unknown;
    for (const auto& [code, refusals] : t.refused_by) by_code[code] += refusals.count;
  }
  std::string refusals;
  for (const auto& [code, n] : by_code) refusals += fmt::format(" {} {},", code, n);
  return {
      {"un-keyed: acked <= final <= acked + unknown", violations.empty(),
       violations.empty()
           ? fmt::format("{} objects; {} applied, {} refused ({}), {} unknown", r.objects.size(),
                         acked, refused, refusals.empty() ? "none" : refusals, unknown)
           : fmt::format("{} objects broke it: {}", violations.size(),
                         fmt::join(violations.begin(),
                                   violations.begin() +
                                       std::min<std::size_t>(violations.size(), kShownViolations),
                                   " | "))},
      {"un-keyed: no reply without a fault to explain it", r.errors.empty(),
       r.errors.empty() ? "none" : fmt::format("{}, e.g. {}", r.errors.size(), r.errors.front())},
  };
}

CheckRow check_all_answer(const std::string& nats_url, const std::vector<std::string>& counters,
                          std::chrono::milliseconds deadline) {
  NatsConnection nats({nats_url, "chaos-check", true});
  Client client(nats);
  CallOptions patient;
  patient.max_attempts = 1000;
  patient.total_timeout = deadline;
  std::size_t silent = 0;
  std::string first;
  for (const auto& id : counters) {
    try {
      client.call("Counter", id, "get", nullptr, patient);
    } catch (const std::exception& e) {
      if (silent++ == 0) first = id + ": " + e.what();
    }
  }
  return {"no stranded object: every one answers", silent == 0,
          silent == 0 ? fmt::format("{} objects answered", counters.size())
                      : fmt::format("{} did not, e.g. {}", silent, first)};
}

std::vector<CheckRow> check_bank(const std::string& database_url, const testing::BankLoad& load,
                                 std::chrono::milliseconds drain_deadline) {
  auto conn = connect_for_checks(database_url);
  const auto& r = load.results();
  std::vector<CheckRow> rows;
  bool drained = testing::wait_until(
      [&] {
        return scalar(*conn,
                      "SELECT count(*) FROM dobj_admin.outbox WHERE sender_class = 'Account'") == 0;
      },
      drain_deadline);
  rows.push_back({"bank: every transfer's credit delivered (outbox drained)", drained,
                  fmt::format("{} messages left", scalar(*conn,
                                                         "SELECT count(*) FROM dobj_admin.outbox "
                                                         "WHERE sender_class = 'Account'"))});
  struct Account {
    std::int64_t balance = 0;
    std::map<std::string, std::pair<std::string, std::int64_t>> out, in;  // ref → (peer, amount)
  };
  std::map<std::string, Account> accounts;
  std::size_t cancelled = 0;
  {
    pqxx::nontransaction tx(*conn);
    auto kv = tx.exec_params(
        "SELECT o.id, k.key, k.value::text FROM dobj_admin.objects o, "
        "LATERAL dobj_admin.kv(o.class, o.id) k WHERE o.class = 'Account' AND o.id LIKE $1",
        load.options().prefix + "%");
    for (const auto& row : kv) {
      auto& a = accounts[row[0].c_str()];
      std::string key = row[1].c_str();
      auto value = Value::parse(row[2].c_str());
      if (key == "balance") {
        a.balance = value.get<std::int64_t>();
      } else if (key.rfind("out/", 0) == 0) {
        a.out[key.substr(4)] = {value["to"], value["amount"]};
      } else if (key.rfind("in/", 0) == 0) {
        a.in[key.substr(3)] = {value["from"], value["amount"]};
      } else if (key.rfind("cancelled/", 0) == 0) {
        ++cancelled;  // a pull whose call's outcome was unknown (refunded or forbidden)
      }
    }
  }
  std::int64_t total = 0, negative = 0;
  for (const auto& [id, a] : accounts) {
    total += a.balance;
    negative += a.balance < 0;
  }
  auto expected = load.options().initial * load.options().accounts;
  rows.push_back({"bank: the total is exactly what was deposited", total == expected,
                  fmt::format("total {}, deposited {}", total, expected)});
  rows.push_back({"bank: no balance below zero, in the end or in any reply",
                  negative == 0 && r.errors.empty(),
                  fmt::format("{} negative balances; {} bad replies{}", negative, r.errors.size(),
                              r.errors.empty() ? "" : ", e.g. " + r.errors.front())});
  // Both ends: each debit has its one credit and each credit its one debit.
  std::size_t transfers = 0, unmatched = 0, orphan_credits = 0, unbalanced = 0;
  for (const auto& [id, a] : accounts) {
    std::int64_t in = 0, out = 0;
    for (const auto& [ref, peer] : a.out) {
      ++transfers;
      out += peer.second;
      bool matched = false;
      if (auto to = accounts.find(peer.first); to != accounts.end()) {
        auto it = to->second.in.find(ref);
        matched = it != to->second.in.end() && it->second == std::make_pair(id, peer.second);
      }
      unmatched += !matched;
    }
    for (const auto& [ref, peer] : a.in) {
      in += peer.second;
      auto from = accounts.find(peer.first);
      if (from == accounts.end() || !from->second.out.count(ref)) ++orphan_credits;
    }
    if (a.balance != load.options().initial + in - out) ++unbalanced;
  }
  rows.push_back({"bank: every transfer applied once at both ends",
                  unmatched == 0 && orphan_credits == 0 && unbalanced == 0,
                  fmt::format("{} transfers and pulls applied ({} pulls cancelled); debits "
                              "without their credit {}, credits without their debit {}, balances "
                              "not deposit + in - out {}",
                              transfers, cancelled, unmatched, orphan_credits, unbalanced)});
  std::size_t lost = 0, applied_refused = 0;
  auto applied = [&](const std::string& ref, const std::string& from) {
    auto a = accounts.find(from);
    return a != accounts.end() && a->second.out.count(ref) > 0;
  };
  for (const auto& [ref, t] : r.acked) lost += !applied(ref, t.from);
  std::map<std::string, std::size_t> lies;  // refused but applied, by the refusal's code
  std::string lie;
  for (const auto& [ref, why] : r.refused) {
    for (const auto& [id, a] : accounts) {
      if (!a.out.count(ref)) continue;
      ++applied_refused;
      ++lies[why.code];
      if (lie.empty()) lie = fmt::format("{}: {}: {}", ref, why.code, why.detail);
    }
  }
  std::string by_code;
  for (const auto& [code, n] : lies) by_code += fmt::format(" {} {}", code, n);
  rows.push_back(
      {"bank: acknowledged transfers applied, refused ones not", lost == 0 && applied_refused == 0,
       fmt::format("{} acknowledged, {} refused ({} short of funds), {} unknown; "
                   "acknowledged but missing {}, refused but applied {}{}",
                   r.acked.size(), r.refused.size(), r.short_funds, r.unknown.size(), lost,
                   applied_refused,
                   lies.empty() ? "" : fmt::format(" (by code:{}; e.g. {})", by_code, lie))});
  auto dead =
      scalar(*conn, "SELECT count(*) FROM dobj_admin.dead_messages WHERE sender_class = 'Account'");
  rows.push_back({"bank: no credit died", dead == 0, fmt::format("{} dead messages", dead)});
  return rows;
}

}  // namespace dobj::chaos
