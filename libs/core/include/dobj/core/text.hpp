#pragma once

#include <string_view>

namespace dobj {

// Whether `s` can travel as PostgreSQL text: well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF) without NUL. Storage keys, SQL text and idempotency keys must be; a
// request breaking it gets bad_request before anything runs, instead of failing a whole batch
// (or, for NUL, being cut short silently by libpq).
bool is_text(std::string_view s);

}  // namespace dobj
