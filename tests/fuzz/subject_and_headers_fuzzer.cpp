// libFuzzer: what the worker checks of a message before a shard sees it: subject, content type,
// timeout and idempotency headers, header and body sizes (check_request, as Host::dispatch runs
// it). Input: subject, Content-Type, Dobj-Timeout-Ms, Dobj-Idempotency-Key and body, separated
// by '\n'; an absent field is an absent header.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dobj/core/clock.hpp"
#include "dobj/core/error.hpp"
#include "dobj/protocol/limits.hpp"
#include "example_registry.hpp"
#include "request_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (fields.size() < 4) {
    auto end = input.find('\n', start);
    if (end == std::string_view::npos) break;
    fields.emplace_back(input.substr(start, end - start));
    start = end + 1;
  }
  dobj::InboundMessage m;
  m.body = std::string(input.substr(std::min(start, input.size())));
  if (fields.size() > 0) m.subject = fields[0];
  if (fields.size() > 1) m.content_type = fields[1];
  if (fields.size() > 2) m.timeout_ms = fields[2];
  if (fields.size() > 3) m.idempotency_key = fields[3];
  for (const auto& f : fields) m.header_bytes += f.size();
  dobj::ShardCommand command;
  try {
    dobj::check_request(
        m, dobj::fuzz::example_registry(), {dobj::protocol::kDefaultPartitions, 1 << 20},
        dobj::Clock::system(), [](int) { return true; }, command);
  } catch (const dobj::Error&) {
  }
  return 0;
}
