#include "dobj/store/connection_limits.hpp"

#include <mutex>
#include <vector>

#include "dobj/core/error.hpp"

namespace dobj::store {
namespace {

std::mutex& limits_mutex() {
  static std::mutex m;
  return m;
}

ConnectionLimits& limits() {
  static ConnectionLimits l;
  return l;
}

bool is_uri(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

bool mentions(const std::string& url, const std::string& key) {
  for (std::size_t at = url.find(key + "="); at != std::string::npos;
       at = url.find(key + "=", at + 1)) {
    char before = at == 0 ? ' ' : url[at - 1];
    if (before == ' ' || before == '?' || before == '&' || before == '\t') return true;
  }
  return false;
}

}  // namespace

ConnectionLimits ConnectionLimits::current() {
  std::lock_guard lock(limits_mutex());
  return limits();
}

void ConnectionLimits::set_current(const ConnectionLimits& l) {
  std::lock_guard lock(limits_mutex());
  limits() = l;
}

void ConnectionLimits::add_flags(CLI::App& app) {
  // CLI11 binds to integers; the durations are filled in by a callback after parsing.
  auto* self = this;
  auto seconds = [](std::chrono::seconds& target) {
    return [&target](std::int64_t v) { target = std::chrono::seconds(v); };
  };
  auto millis = [](std::chrono::milliseconds& target) {
    return [&target](std::int64_t v) { target = std::chrono::milliseconds(v); };
  };
  app.add_option_function<std::int64_t>("--pg-connect-timeout-s", seconds(self->connect_timeout),
                                        "PostgreSQL connect timeout (default 5)")
      ->check(CLI::Range(1, 3600));
  app.add_option_function<std::int64_t>("--pg-statement-timeout-ms",
                                        millis(self->statement_timeout),
                                        "server-side statement timeout (default 10000)")
      ->check(CLI::Range(100, 3'600'000));
  app.add_option_function<std::int64_t>("--pg-keepalive-idle-s", seconds(self->keepalive_idle),
                                        "TCP keepalive idle time to PostgreSQL (default 5)")
      ->check(CLI::Range(1, 3600));
  app.add_option_function<std::int64_t>("--pg-call-timeout-ms", millis(self->call_timeout),
                                        "client-side bound on one database call; more than the "
                                        "statement timeout (default 12000)")
      ->check(CLI::Range(200, 3'700'000));
}

void ConnectionLimits::validate() const {
  if (call_timeout <= statement_timeout) {
    throw Error(ErrorCode::kBadRequest,
                "--pg-call-timeout-ms must be longer than --pg-statement-timeout-ms");
  }
}

std::string ConnectionLimits::apply_to(const std::string& url) const {
  std::vector<std::pair<std::string, std::string>> params{
      {"connect_timeout", std::to_string(connect_timeout.count())},
      {"keepalives", "1"},
      {"keepalives_idle", std::to_string(keepalive_idle.count())},
      {"keepalives_interval",
       std::to_string(std::max<std::int64_t>(1, keepalive_idle.count() / 3))},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", std::to_string(std::chrono::milliseconds(keepalive_idle * 2).count())},
  };
  std::string out = url;
  bool uri = is_uri(url);
  for (const auto& [key, value] : params) {
    if (mentions(url, key)) continue;
    if (uri) {
      out += out.find('?') == std::string::npos ? '?' : '&';
    } else if (!out.empty()) {
      out += ' ';
    }
    out += key + "=" + value;
  }
  return out;
}

}  // namespace dobj::store
