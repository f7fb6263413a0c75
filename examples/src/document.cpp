#include "document.hpp"

#include "arguments.hpp"
#include "sql_schema.hpp"

namespace dobj::examples {
namespace {
constexpr const char* kRevisionKey = "revision";

const std::vector<std::string> kDocumentTables{
    "CREATE TABLE revisions (revision bigint PRIMARY KEY, author text NOT NULL, "
    "text text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX revisions_by_author ON revisions (author, revision DESC)",
};
}  // namespace

Value Document::store_revision(Context& ctx, const std::string& author, const std::string& text) {
  ensure_sql_schema(ctx, kDocumentTables);
  auto stored = ctx.storage().get(kRevisionKey);
  auto revision = (stored ? stored->get<std::int64_t>() : 0) + 1;
  ctx.storage().put(kRevisionKey, revision);
  ctx.sql().exec("INSERT INTO revisions (revision, author, text) VALUES ($1, $2, $3)", revision,
                 author, text);
  ctx.publish("revised", {{"revision", revision}, {"author", author}});
  return {{"revision", revision}};
}

void from_json(const Value& json, WriteArgs& args) {
  require_object(json, "write");
  args.author = require_string(json, "author", Document::kMaxAuthorBytes);
  auto it = json.find("text");
  if (it == json.end() || !it->is_string() ||
      it->get_ref<const std::string&>().size() > Document::kMaxTextBytes) {
    throw Error(ErrorCode::kBadRequest, "'text' must be a string of at most " +
                                            std::to_string(Document::kMaxTextBytes) + " bytes");
  }
  args.text = it->get<std::string>();
}

void from_json(const Value& json, ReadArgs& args) {
  args.revision = optional_int(json, "revision", 0, 0, INT64_MAX);
}

void from_json(const Value& json, DocumentHistoryArgs& args) {
  args.limit = optional_int(json, "limit", Document::kDefaultHistory, 1, Document::kMaxHistory);
  if (json.is_object() && json.contains("author")) {
    args.author = require_string(json, "author", Document::kMaxAuthorBytes);
  }
}

void from_json(const Value& json, RevertArgs& args) {
  require_object(json, "revert");
  args.author = require_string(json, "author", Document::kMaxAuthorBytes);
  args.revision = optional_int(json, "revision", 0, 1, INT64_MAX);
}

Value Document::write(Context& ctx, const WriteArgs& args) {
  return store_revision(ctx, args.author, args.text);
}

Value Document::read(Context& ctx, const ReadArgs& args) {
  if (!ensure_sql_schema(ctx, kDocumentTables, /*create=*/false)) return nullptr;
  auto rows =
      args.revision > 0
          ? ctx.sql().exec("SELECT revision, author, text FROM revisions WHERE revision = $1",
                           args.revision)
          : ctx.sql().exec(
                "SELECT revision, author, text FROM revisions ORDER BY revision DESC LIMIT 1");
  auto objects = rows.to_objects();
  return objects.empty() ? Value() : objects[0];
}

Value Document::history(Context& ctx, const DocumentHistoryArgs& args) {
  if (!ensure_sql_schema(ctx, kDocumentTables, /*create=*/false)) return Value::array();
  auto rows = args.author.empty()
                  ? ctx.sql().exec(
                        "SELECT revision, author, length(text) AS length FROM revisions "
                        "ORDER BY revision DESC LIMIT $1",
                        args.limit)
                  : ctx.sql().exec(
                        "SELECT revision, author, length(text) AS length FROM revisions "
                        "WHERE author = $1 ORDER BY revision DESC LIMIT $2",
                        args.author, args.limit);
  return rows.to_objects();
}

Value Document::revert(Context& ctx, const RevertArgs& args) {
  auto old = read(ctx, ReadArgs{args.revision});
  if (old.is_null()) throw Error(ErrorCode::kBadRequest, "no such revision");
  return store_revision(ctx, args.author, old["text"].get<std::string>());
}

}  // namespace dobj::examples
