#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dobj {

// Handler SQL may not change its session: roles, settings, transactions (the runtime owns the
// batch transaction and runs each turn as dobj_handler). Returns why a statement is refused,
// before it runs; nullopt for anything else. A lexical check: the first keyword after comments,
// and set_config( anywhere. The end of each turn also checks the role it ended in.
std::optional<std::string> refused_statement(std::string_view query);

}  // namespace dobj
