#include "dobj/core/connection_config.hpp"

#include <cstdlib>

namespace dobj {

ConnectionConfig ConnectionConfig::from_env() {
  ConnectionConfig config;
  if (const char* nats = std::getenv("DOBJ_NATS_URL"); nats && *nats) config.nats_url = nats;
  if (const char* db = std::getenv("DOBJ_DATABASE_URL"); db && *db) config.database_url = db;
  if (const char* p = std::getenv("DOBJ_INBOX_PREFIX"); p && *p) config.inbox_prefix = p;
  return config;
}

void ConnectionConfig::add_flags(CLI::App& app, std::string& log_level) {
  // No captured default: --help must not print credentials taken from the environment.
  app.add_option("--nats", nats_url,
                 std::string("NATS URL or comma-separated list (env DOBJ_NATS_URL, default ") +
                     kDefaultNatsUrl + ")");
  app.add_option("--db", database_url,
                 "PostgreSQL connection string or URI (env DOBJ_DATABASE_URL, libpq PG* vars)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
}

void ConnectionConfig::add_client_flags(CLI::App& app) {
  app.add_option("--inbox-prefix", inbox_prefix,
                 "where replies arrive, when your NATS user may subscribe only there "
                 "(env DOBJ_INBOX_PREFIX; e.g. _INBOX.chat-app; default _INBOX)");
}

}  // namespace dobj
