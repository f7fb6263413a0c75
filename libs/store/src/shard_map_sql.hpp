#pragma once

#include <pqxx/pqxx>

#include <optional>
#include <string>

// SQL the shard map's changes share (add_storage_shard, begin_move): one wording for each refusal.
namespace dobj::store::shard_map_sql {

// Throws Error kBadRequest unless first..last is a range of the cluster's partitions.
void check_partition_range(pqxx::transaction_base& tx, int first, int last);

// The database URL of the shard `name` (every range of a shard has it); nullopt: no such shard.
std::optional<std::string> shard_url(pqxx::transaction_base& tx, const std::string& name);

}  // namespace dobj::store::shard_map_sql
