#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace dobj {

constexpr const char* kDefaultNatsUrl = "nats://127.0.0.1:4222";

// Where every dobj program finds NATS and PostgreSQL (DESIGN.md §8): environment first
// (DOBJ_NATS_URL, DOBJ_DATABASE_URL; libpq's PG* variables apply to an empty database URL),
// then --nats and --db.
struct ConnectionConfig {
  std::string nats_url = kDefaultNatsUrl;
  std::string database_url;
  // Clients only: where replies arrive (DOBJ_INBOX_PREFIX, --inbox-prefix; empty = _INBOX).
  std::string inbox_prefix;

  static ConnectionConfig from_env();
  // Adds --nats and --db (defaults taken from the environment) and --log-level to the app.
  void add_flags(CLI::App& app, std::string& log_level);
  // Adds --inbox-prefix (programs that make requests).
  void add_client_flags(CLI::App& app);
};

}  // namespace dobj
