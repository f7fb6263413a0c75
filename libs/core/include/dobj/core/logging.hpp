#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace dobj {

// One logger per component, created once and shared by name (e.g. "worker", "shard", "store").
std::shared_ptr<spdlog::logger> logger(const std::string& component);
// Applies to every logger, existing and future. Throws Error(kBadRequest) for an unknown level.
void set_log_level(const std::string& level);

}  // namespace dobj
