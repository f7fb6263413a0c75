#include "mapping_probe.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <set>

#include "dobj/core/error.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/subject.hpp"

namespace dobj {
namespace {
// Enough distinct ids that a wrong partition count shows (each disagrees with probability ≈ 1).
constexpr int kProbes = 16;
}  // namespace

void verify_partition_mapping(NatsConnection& nats, int partitions,
                              std::chrono::milliseconds timeout) {
  std::mt19937_64 rng{std::random_device{}()};
  auto nonce = fmt::format("{}-{:x}", getpid(), rng());
  // Shared with the callback, which may still run after the subscription is gone.
  struct State {
    std::mutex mutex;
    std::condition_variable done;
    std::set<std::string> seen;
    std::vector<std::string> mismatches;
  };
  auto state = std::make_shared<State>();

  auto pattern = fmt::format("dobj.in.*.{}.*.{}", protocol::kProbeClass, protocol::kProbeMethod);
  auto sub = nats.subscribe(pattern, [state, nonce, partitions](natsMsg* raw) {
    auto msg = NatsMessage::from(raw);
    natsMsg_Destroy(raw);
    try {
      auto s = protocol::parse_inbound_subject(msg.subject);
      if (!s.object_id.starts_with(nonce)) return;
      int expected = protocol::partition_of(s.class_name, s.object_id, partitions);
      std::lock_guard lock(state->mutex);
      if (s.partition != expected) {
        state->mismatches.push_back(
            fmt::format("{} → partition {}, expected {}", s.object_id, s.partition, expected));
      }
      state->seen.insert(s.object_id);
    } catch (const Error&) {
    }
    state->done.notify_all();
  });
  nats.flush(timeout);
  for (int i = 0; i < kProbes; ++i) {
    nats.publish(protocol::client_subject(protocol::kProbeClass, fmt::format("{}-{}", nonce, i),
                                          protocol::kProbeMethod),
                 "");
  }
  nats.flush(timeout);
  std::unique_lock lock(state->mutex);
  state->done.wait_for(lock, timeout, [&] { return state->seen.size() >= kProbes; });
  if (state->seen.empty()) {
    throw Error(ErrorCode::kBadRequest,
                "no probe came back through obj.*.*.* → dobj.in.<p>.…: either the NATS server "
                "lacks the mapping (start it with deploy/nats/nats.conf or include "
                "deploy/nats/dobj.conf) or this worker is not connected as the service user "
                "(put its credentials in DOBJ_NATS_URL, nats://dobj:<password>@host:port)");
  }
  if (!state->mismatches.empty() || state->seen.size() < kProbes) {
    throw Error(ErrorCode::kBadRequest,
                fmt::format("the NATS server's partition mapping disagrees with the database "
                            "(dobj.cluster.partitions = {}): {}; fix the partition count in "
                            "nats.conf's mapping",
                            partitions,
                            state->mismatches.empty() ? "probes lost" : state->mismatches.front()));
  }
}

}  // namespace dobj
