#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

namespace dobj::store {

// Bounds on every PostgreSQL connection a dobj process opens, so that a frozen or unreachable
// database turns into errors within seconds instead of calls that hang (DESIGN.md §7):
// - connect_timeout: libpq gives up connecting after this long;
// - statement_timeout: the server cancels a statement running longer (set on every connection);
// - keepalive_idle: TCP keepalives (idle, then probes every third of it, 3 probes) and
//   TCP_USER_TIMEOUT detect a peer that vanished from the network;
// - call_timeout: the client's own bound on one call, for a server that does not answer at all
//   (hung, or a link that swallows traffic): the connection is shut down and the call fails as
//   a broken connection. Longer than statement_timeout, so the server's cancel comes first.
// The limits are process-wide: set_current() once at start-up, from the flags.
struct ConnectionLimits {
  constexpr static std::chrono::seconds kDefaultConnectTimeout{5};
  constexpr static std::chrono::milliseconds kDefaultStatementTimeout{10'000};
  constexpr static std::chrono::seconds kDefaultKeepaliveIdle{5};
  constexpr static std::chrono::milliseconds kDefaultCallTimeout{12'000};

  std::chrono::seconds connect_timeout = kDefaultConnectTimeout;
  std::chrono::milliseconds statement_timeout = kDefaultStatementTimeout;
  std::chrono::seconds keepalive_idle = kDefaultKeepaliveIdle;
  std::chrono::milliseconds call_timeout = kDefaultCallTimeout;

  static ConnectionLimits current();
  static void set_current(const ConnectionLimits& limits);

  // --pg-connect-timeout-s, --pg-statement-timeout-ms, --pg-keepalive-idle-s, --pg-call-timeout-ms.
  void add_flags(CLI::App& app);
  // Throws Error(kBadRequest) when call_timeout does not exceed statement_timeout.
  void validate() const;
  // `url` (a URI or a keyword string, possibly empty) with the connection-level limits added;
  // parameters the user set already are kept as given.
  std::string apply_to(const std::string& url) const;
};

}  // namespace dobj::store
