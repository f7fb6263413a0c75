#pragma once

#include <string>
#include <string_view>

namespace dobj {

// Hides the secrets of a NATS URL, a PostgreSQL URI or a libpq keyword string so that it can be
// logged or shown in an error: `nats://dobj:secret@h:4222` → `nats://dobj:***@h:4222`,
// `host=h password=secret` → `host=h password=***`, `postgresql://h/db?password=x` →
// `postgresql://h/db?password=***`. Comma-separated URL lists are redacted one by one.
std::string redact(std::string_view url_or_conninfo);

}  // namespace dobj
