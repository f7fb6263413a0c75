#pragma once

#include <CLI/CLI.hpp>

#include "dobj/core/connection_config.hpp"

namespace dobj::cli {

// Each adds its subcommand to the app; the callback runs it and throws on failure.
void add_call_command(CLI::App& app, const ConnectionConfig& conn);
void add_id_command(CLI::App& app);
void add_admin_commands(CLI::App& app, const ConnectionConfig& conn);
void add_cluster_commands(CLI::App& app, const ConnectionConfig& conn);
void add_top_command(CLI::App& app, const ConnectionConfig& conn);

}  // namespace dobj::cli
