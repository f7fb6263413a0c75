#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "dobj/core/connection_config.hpp"
#include "dobj/store/connection_limits.hpp"

namespace dobj::store {

// The command line every dobj service shares (dobj-worker and the workers teams build,
// dobj-timer): --nats, --db (from DOBJ_NATS_URL / DOBJ_DATABASE_URL), --log-level, --log-format and
// the PostgreSQL limits. add() before parsing, apply() after: it sets the log level and the
// process-wide limits, or throws Error(kBadRequest) for a bad combination.
class ServiceFlags {
 public:
  void add(CLI::App& app);
  void apply() const;
  const ConnectionConfig& connection() const { return connection_; }

 private:
  ConnectionConfig connection_ = ConnectionConfig::from_env();
  std::string log_level_ = "info";
  std::string log_format_ = "text";
  ConnectionLimits pg_limits_;
};

}  // namespace dobj::store
