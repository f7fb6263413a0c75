#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace dobj {

// One logger per component, created once and shared by name (e.g. "worker", "shard", "store").
std::shared_ptr<spdlog::logger> logger(const std::string& component);
// Applies to every logger, existing and future. Throws Error(kBadRequest) for an unknown level.
void set_log_level(const std::string& level);
// "text" (default) or "json" (one object per line: time, level, logger, message, trace_id);
// every logger, existing and future. Throws Error(kBadRequest) for anything else.
void set_log_format(const std::string& format);

// While it lives, every line this thread logs names the trace (W3C trace id) it works for.
class LogTraceScope {
 public:
  explicit LogTraceScope(std::string trace_id);
  ~LogTraceScope();
  LogTraceScope(const LogTraceScope&) = delete;
  LogTraceScope& operator=(const LogTraceScope&) = delete;

 private:
  std::string previous_;
};

}  // namespace dobj
