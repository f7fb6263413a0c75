// dobj: the operator and developer command line (DESIGN.md §8).
#include <fmt/format.h>

#include "commands.hpp"
#include "dobj/client/nats_connection.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"

int main(int argc, char** argv) {
  using namespace dobj;
  CLI::App app{"dobj: call and inspect dobj objects"};
  app.require_subcommand(1);
  auto conn = ConnectionConfig::from_env();
  std::string log_level = "warn";
  conn.add_flags(app, log_level);
  conn.add_client_flags(app);
  cli::add_call_command(app, conn);
  cli::add_id_command(app);
  cli::add_admin_commands(app, conn);
  cli::add_cluster_commands(app, conn);
  cli::add_top_command(app, conn);
  cli::add_shard_commands(app, conn);
  app.parse_complete_callback([&log_level] { set_log_level(log_level); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    fmt::print(stderr, "error: {}: {}\n", to_string(e.code()), e.what());
    return 1;
  } catch (const TransportError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
