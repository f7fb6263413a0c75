#pragma once

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

// A text document with its full revision history in its own SQL table (with an index), showing
// ctx.sql() next to ctx.storage() in one transaction.
class Document : public Object {
 public:
  constexpr static std::size_t kMaxTextBytes = 256 * 1024;
  constexpr static std::size_t kMaxAuthorBytes = 128;
  constexpr static std::int64_t kDefaultHistory = 20;
  constexpr static std::int64_t kMaxHistory = 500;

  Value write(Context& ctx, const Value& arg);
  Value read(Context& ctx, const Value& arg);
  Value history(Context& ctx, const Value& arg);
  Value revert(Context& ctx, const Value& arg);

 private:
  Value store_revision(Context& ctx, const std::string& author, const std::string& text);
};

}  // namespace dobj::examples
