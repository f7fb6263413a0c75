#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "dobj/core/connection_config.hpp"

namespace dobj::cli {

// Each adds its subcommand to the app; the callback runs it and throws on failure.
void add_call_command(CLI::App& app, const ConnectionConfig& conn);
void add_id_command(CLI::App& app);
void add_admin_commands(CLI::App& app, const ConnectionConfig& conn);
void add_cluster_commands(CLI::App& app, const ConnectionConfig& conn);
void add_top_command(CLI::App& app, const ConnectionConfig& conn);
void add_shard_commands(CLI::App& app, const ConnectionConfig& conn);
// `dobj shards move`, under the shards subcommand.
void add_shard_move_command(CLI::App& shards, const ConnectionConfig& conn);
// `dobj migrate`'s second half: every storage shard in the map, each with its map URL or the
// NAME=URL given for it.
void migrate_storage_shards(const ConnectionConfig& conn,
                            const std::vector<std::string>& admin_urls);

}  // namespace dobj::cli
