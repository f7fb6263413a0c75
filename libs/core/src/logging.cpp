#include "dobj/core/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "dobj/core/error.hpp"

namespace dobj {
namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
bool g_json = false;
thread_local std::string t_trace_id;

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v%*";
// One JSON object per line: what log shippers (Loki, Elasticsearch, Cloud Logging) parse as is.
constexpr const char* kJsonPattern =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","message":"%j"%*})";

void escape_json(std::string_view in, spdlog::memory_buf_t& out) {
  for (char c : in) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

// %*: the trace id of the turn this thread runs, if any (text: " trace=<id>", JSON: a field).
class TraceFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit TraceFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& out) override {
    if (t_trace_id.empty()) return;
    out.append(std::string_view(json_ ? R"(,"trace_id":")" : " trace="));
    out.append(t_trace_id);
    if (json_) out.push_back('"');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TraceFlag>(json_);
  }

 private:
  bool json_;
};

// %j: the message, escaped for a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& out) override {
    escape_json(std::string_view(msg.payload.data(), msg.payload.size()), out);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<TraceFlag>('*', json).add_flag<JsonMessageFlag>('j');
  f->set_pattern(json ? kJsonPattern : kTextPattern);
  return f;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto created = spdlog::stderr_color_mt(component);
  created->set_level(g_level);
  created->set_formatter(make_formatter(g_json));
  return created;
}

void set_log_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw Error(ErrorCode::kBadRequest, "unknown log level '" + level + "'");
  }
  std::lock_guard lock(g_mutex);
  g_level = parsed;
  spdlog::set_level(parsed);
}

void set_log_format(const std::string& format) {
  if (format != "text" && format != "json") {
    throw Error(ErrorCode::kBadRequest, "unknown log format '" + format + "' (text or json)");
  }
  std::lock_guard lock(g_mutex);
  g_json = format == "json";
  spdlog::apply_all(
      [](const std::shared_ptr<spdlog::logger>& l) { l->set_formatter(make_formatter(g_json)); });
}

LogTraceScope::LogTraceScope(std::string trace_id) : previous_(std::move(t_trace_id)) {
  t_trace_id = std::move(trace_id);
}

LogTraceScope::~LogTraceScope() {
  t_trace_id = std::move(previous_);
}

}  // namespace dobj
