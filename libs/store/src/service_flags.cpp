#include "dobj/store/service_flags.hpp"

#include "dobj/core/logging.hpp"

namespace dobj::store {

void ServiceFlags::add(CLI::App& app) {
  connection_.add_flags(app, log_level_);
  app.add_option("--log-format", log_format_, "text, or json: one object per line")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  pg_limits_.add_flags(app);
}

void ServiceFlags::apply() const {
  set_log_level(log_level_);
  set_log_format(log_format_);
  pg_limits_.validate();
  ConnectionLimits::set_current(pg_limits_);
}

}  // namespace dobj::store
