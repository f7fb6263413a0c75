#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dobj/runtime/context.hpp"

namespace dobj::examples {

// Per-object SQL migrations: runs the statements after the version stored under `key` (a KV key,
// committed with them) and records the new version. Returns whether the tables exist.
inline bool ensure_sql_schema(Context& ctx, const std::vector<std::string>& migrations,
                              bool create = true, const std::string& key = "$sql_version") {
  auto stored = ctx.storage().get(key);
  auto version = stored ? stored->get<std::int64_t>() : 0;
  if (version >= static_cast<std::int64_t>(migrations.size())) return true;
  if (!create) return version > 0;
  for (auto i = static_cast<std::size_t>(version); i < migrations.size(); ++i) {
    ctx.sql().exec(migrations[i]);
  }
  ctx.storage().put(key, static_cast<std::int64_t>(migrations.size()));
  return true;
}

}  // namespace dobj::examples
