#include "dobj/testing/counter_load.hpp"

#include <fmt/format.h>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/error.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/reply.hpp"
#include "dobj/store/database.hpp"
#include "dobj/testing/outcome.hpp"

namespace dobj::testing {

CounterLoad::CounterLoad(Options options) : options_(std::move(options)) {
  for (int i = 0; i < options_.objects; ++i) {
    results_.objects[options_.prefix + std::to_string(i)] = {};
  }
}

CounterLoad::~CounterLoad() {
  stop();
}

void CounterLoad::start() {
  for (int i = 0; i < options_.clients; ++i) threads_.spawn([this, i] { run_client(i); });
}

void CounterLoad::stop() {
  threads_.stop();
}

std::int64_t CounterLoad::acked() const {
  std::lock_guard lock(mutex_);
  std::int64_t n = 0;
  for (const auto& [id, t] : results_.objects) n += t.acked;
  return n;
}

void CounterLoad::run_client(int index) {
  std::unique_ptr<NatsConnection> nats;
  const std::map<std::string, std::string> headers{
      {protocol::kContentTypeHeader, protocol::kJsonContentType}};
  for (int n = index; !threads_.stopping(); ++n) {
    auto id = options_.prefix + std::to_string(n % options_.objects);
    Outcome outcome = Outcome::kUnknown;
    std::string code, text;
    try {
      if (!nats)
        nats = std::make_unique<NatsConnection>(
            NatsConnection::Options{options_.nats_url, "counter-load", true});
      auto reply = nats->request("obj.Counter." + id + ".inc", R"({"by": 1})", headers,
                                 options_.attempt_timeout);
      if (reply.no_responders) {
        outcome = Outcome::kRefused;
        code = "no_responders";
        text = "NATS: no subscriber for the subject";
      } else {
        protocol::parse_reply(reply.header(protocol::kStatusHeader),
                              reply.header(protocol::kContentTypeHeader), reply.body);
        outcome = Outcome::kApplied;
      }
    } catch (const Error& e) {
      outcome = classify(e.code());
      code = to_string(e.code());
      text = e.what();
    } catch (const TransportError&) {
      outcome = Outcome::kUnknown;  // no reply in time: applied or not
      nats.reset();                 // the connection may be the problem
    }
    {
      std::lock_guard lock(mutex_);
      auto& t = results_.objects[id];
      switch (outcome) {
        case Outcome::kApplied:
          ++t.acked;
          break;
        case Outcome::kRefused: {
          ++t.refused;
          auto& by = t.refused_by[code];
          by.last = threads_.seconds_running();
          if (by.count++ == 0) {
            by.first = by.last;
            by.sample = text;
          }
          break;
        }
        case Outcome::kUnknown:
          ++t.unknown;
          break;
        case Outcome::kBug:
          // The request's fate is unknown too, but the reply itself is wrong.
          ++t.unknown;
          results_.errors.push_back(id + ": " + code + ": " + text);
          break;
      }
    }
    std::this_thread::sleep_for(options_.pause);
  }
}

std::vector<std::string> CounterLoad::violations(
    const std::function<std::int64_t(const std::string&)>& final_value) const {
  std::vector<std::string> out;
  std::lock_guard lock(mutex_);
  for (const auto& [id, t] : results_.objects) {
    auto value = std::max<std::int64_t>(0, final_value(id));
    if (value < t.acked || value > t.acked + t.unknown) {
      // Which refusals, and when: the fault log beside it says which of them lied.
      std::string refusals;
      for (const auto& [code, r] : t.refused_by) {
        refusals += fmt::format("; {} {} from {:.1f} s to {:.1f} s, e.g. \"{}\"", code, r.count,
                                r.first, r.last, r.sample);
      }
      out.push_back(
          fmt::format("{}: value {} outside [acked {}, acked + unknown {}] ({} refused{})", id,
                      value, t.acked, t.acked + t.unknown, t.refused, refusals));
    }
  }
  return out;
}

std::vector<std::string> CounterLoad::violations_in(const std::string& database_url) const {
  // One connection for every object: a connection per object made this check take 20 s of
  // FailureCluster's 45 for 2,000 objects.
  auto conn = store::connect(database_url);
  pqxx::nontransaction tx(*conn);
  tx.exec0("SET statement_timeout = 0");
  return violations([&](const std::string& id) -> std::int64_t {
    auto rows = tx.exec_params(
        "SELECT (value #>> '{}')::bigint FROM dobj_admin.kv('Counter', $1) WHERE key = 'value'",
        id);
    return rows.empty() ? 0 : rows[0][0].as<std::int64_t>();
  });
}

}  // namespace dobj::testing
