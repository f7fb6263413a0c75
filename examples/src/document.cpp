#include "document.hpp"

#include "arguments.hpp"
#include "sql_schema.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kRevisionKey = "revision";

const std::vector<std::string> kMigrations{
    "CREATE TABLE revisions (revision bigint PRIMARY KEY, author text NOT NULL, "
    "text text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX revisions_by_author ON revisions (author, revision DESC)",
};
}  // namespace

Value Document::store_revision(Context& ctx, const std::string& author, const std::string& text) {
  ensure_sql_schema(ctx, kMigrations);
  auto stored = ctx.storage().get(kRevisionKey);
  auto revision = (stored ? stored->get<std::int64_t>() : 0) + 1;
  ctx.storage().put(kRevisionKey, revision);
  ctx.sql().exec("INSERT INTO revisions (revision, author, text) VALUES ($1, $2, $3)", revision,
                 author, text);
  ctx.publish("revised", {{"revision", revision}, {"author", author}});
  return {{"revision", revision}};
}

Value Document::write(Context& ctx, const Value& arg) {
  require_object(arg, "write");
  auto author = require_string(arg, "author", kMaxAuthorBytes);
  auto it = arg.find("text");
  if (it == arg.end() || !it->is_string() ||
      it->get_ref<const std::string&>().size() > kMaxTextBytes) {
    throw Error(ErrorCode::kBadRequest,
                "'text' must be a string of at most " + std::to_string(kMaxTextBytes) + " bytes");
  }
  return store_revision(ctx, author, it->get<std::string>());
}

Value Document::read(Context& ctx, const Value& arg) {
  if (!ensure_sql_schema(ctx, kMigrations, /*create=*/false)) return nullptr;
  std::int64_t revision = optional_int(arg, "revision", 0, 0, INT64_MAX);
  auto rows =
      revision > 0
          ? ctx.sql().exec("SELECT revision, author, text FROM revisions WHERE revision = $1",
                           revision)
          : ctx.sql().exec(
                "SELECT revision, author, text FROM revisions ORDER BY revision DESC LIMIT 1");
  auto objects = rows.to_objects();
  return objects.empty() ? Value() : objects[0];
}

Value Document::history(Context& ctx, const Value& arg) {
  auto limit = optional_int(arg, "limit", kDefaultHistory, 1, kMaxHistory);
  if (!ensure_sql_schema(ctx, kMigrations, /*create=*/false)) return Value::array();
  std::string author;
  if (arg.is_object() && arg.contains("author"))
    author = require_string(arg, "author", kMaxAuthorBytes);
  auto rows = author.empty() ? ctx.sql().exec(
                                   "SELECT revision, author, length(text) AS length FROM revisions "
                                   "ORDER BY revision DESC LIMIT $1",
                                   limit)
                             : ctx.sql().exec(
                                   "SELECT revision, author, length(text) AS length FROM revisions "
                                   "WHERE author = $1 ORDER BY revision DESC LIMIT $2",
                                   author, limit);
  return rows.to_objects();
}

Value Document::revert(Context& ctx, const Value& arg) {
  require_object(arg, "revert");
  auto author = require_string(arg, "author", kMaxAuthorBytes);
  auto old = read(ctx, {{"revision", optional_int(arg, "revision", 0, 1, INT64_MAX)}});
  if (old.is_null()) throw Error(ErrorCode::kBadRequest, "no such revision");
  return store_revision(ctx, author, old["text"].get<std::string>());
}

}  // namespace dobj::examples
