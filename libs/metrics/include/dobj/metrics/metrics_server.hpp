#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace prometheus {
class Registry;
}

namespace dobj::metrics {

// The HTTP endpoint of a dobj process (--metrics-addr): GET /metrics (Prometheus text format of
// the registry), /healthz (200 while the process runs), /readyz (200 when `readiness` finds
// nothing wrong, else 503 with its reason). Port 0 picks a free port: port() says which.
// One small thread, one connection at a time; requests are bounded in size and time.
// Lifecycle: start() → stop() (idempotent, also in the destructor).
class MetricsServer {
 public:
  // nullopt: ready; otherwise why not ("lease not valid", ...).
  using Readiness = std::function<std::optional<std::string>()>;

  // before_scrape: sets the gauges that are read rather than counted (may be empty).
  MetricsServer(std::shared_ptr<prometheus::Registry> registry, Readiness readiness,
                std::function<void()> before_scrape = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // address: "host:port" (host defaults to 127.0.0.1 when only ":port" is given). Throws
  // Error(kBadRequest) for a malformed address or one that cannot be bound.
  void start(const std::string& address);
  void stop();
  int port() const { return port_; }
  // "host:port" as bound (the port chosen for port 0); the host as given, 127.0.0.1 for ":port".
  const std::string& address() const { return address_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::string address_;
};

}  // namespace dobj::metrics
