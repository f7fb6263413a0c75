#pragma once

#include <cstdint>
#include <string>

#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"

namespace dobj::examples {

struct WriteArgs {
  std::string author;
  std::string text;
};
struct ReadArgs {
  std::int64_t revision = 0;  // 0: the latest
};
struct DocumentHistoryArgs {
  std::int64_t limit = 0;
  std::string author;  // empty: every author
};
struct RevertArgs {
  std::string author;
  std::int64_t revision = 0;
};
void from_json(const Value& json, WriteArgs& args);
void from_json(const Value& json, ReadArgs& args);
void from_json(const Value& json, DocumentHistoryArgs& args);
void from_json(const Value& json, RevertArgs& args);

// A text document with its full revision history in its own SQL table (with an index), showing
// ctx.sql() next to ctx.storage() in one transaction.
class Document : public Object {
 public:
  constexpr static std::size_t kMaxTextBytes = 256 * 1024;
  constexpr static std::size_t kMaxAuthorBytes = 128;
  constexpr static std::int64_t kDefaultHistory = 20;
  constexpr static std::int64_t kMaxHistory = 500;

  Value write(Context& ctx, const WriteArgs& args);
  Value read(Context& ctx, const ReadArgs& args);
  Value history(Context& ctx, const DocumentHistoryArgs& args);
  Value revert(Context& ctx, const RevertArgs& args);

 private:
  Value store_revision(Context& ctx, const std::string& author, const std::string& text);
};

}  // namespace dobj::examples
