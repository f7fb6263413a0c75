#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/names.hpp"

namespace dobj::cli {

void add_call_command(CLI::App& app, const ConnectionConfig& conn) {
  struct Args {
    std::string class_name, object_id, method, argument;
    bool msgpack = false;
    bool compact = false;
    std::int64_t timeout_ms = CallOptions::kDefaultTimeout.count();
    std::string idempotency_key;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("call", "call a method: dobj call Counter c1 inc '{\"by\": 2}'");
  cmd->add_option("class", args->class_name)->required();
  cmd->add_option("id", args->object_id)->required();
  cmd->add_option("method", args->method)->required();
  cmd->add_option("argument", args->argument, "JSON argument (omit for none; - reads stdin)");
  cmd->add_flag("--msgpack", args->msgpack, "send and receive msgpack instead of JSON");
  cmd->add_flag("--json", args->compact, "print the reply as one line of JSON");
  cmd->add_option("--timeout-ms", args->timeout_ms, "per attempt")->capture_default_str();
  cmd->add_option("--idempotency-key", args->idempotency_key, "Dobj-Idempotency-Key header");
  cmd->callback([args, &conn] {
    Value argument;
    std::string text = args->argument;
    if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
    if (!text.empty()) {
      try {
        argument = Value::parse(text);
      } catch (const Value::parse_error& e) {
        throw Error(ErrorCode::kBadRequest, std::string("argument is not valid JSON: ") + e.what());
      }
    }
    NatsConnection::Options nats_options{conn.nats_url, "dobj-cli", true};
    nats_options.inbox_prefix = conn.inbox_prefix;
    NatsConnection nats(nats_options);
    Client client(nats);
    CallOptions options;
    options.timeout = std::chrono::milliseconds(args->timeout_ms);
    options.content_type =
        args->msgpack ? protocol::ContentType::kMsgpack : protocol::ContentType::kJson;
    if (!args->idempotency_key.empty()) options.idempotency_key = args->idempotency_key;
    Value reply = client.call(args->class_name, args->object_id, args->method, argument, options);
    fmt::print("{}\n", args->compact ? reply.dump() : reply.dump(2));
  });
}

void add_id_command(CLI::App& app) {
  auto names = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand("id", "derive an object id from a name (SHA-256, as idFromName)");
  cmd->add_option("class", names->first)->required();
  cmd->add_option("name", names->second)->required();
  cmd->callback([names] {
    if (!is_valid_class_name(names->first)) {
      throw Error(ErrorCode::kBadRequest, "invalid class name '" + names->first + "'");
    }
    fmt::print("{}\n", object_id_from_name(names->first, names->second));
  });
}

}  // namespace dobj::cli
