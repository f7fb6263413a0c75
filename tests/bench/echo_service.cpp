// The ceiling: a raw NATS responder with no state that answers every request on echo.> with its
// body. dobj-bench starts it; `bench-echo --nats URL` runs it alone.
#include <nats/nats.h>

#include "dobj/core/stop_signals.hpp"

#include <cstdio>
#include <string>

namespace {
void on_request(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void*) {
  if (const char* reply = natsMsg_GetReply(msg)) {
    natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  }
  natsMsg_Destroy(msg);
  // Nothing else waiting: out now, not when cnats' flusher next runs (up to 1 ms later). The
  // worker does the same when nothing waits for a shard; under load both leave it to the flusher.
  int pending = 0;
  if (natsSubscription_GetPending(sub, &pending, nullptr) == NATS_OK && pending == 0) {
    natsConnection_Flush(nc);
  }
}
}  // namespace

int main(int argc, char** argv) {
  dobj::StopSignals stop;
  std::string url =
      argc > 2 && std::string(argv[1]) == "--nats" ? argv[2] : "nats://127.0.0.1:4222";
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) {
    std::fprintf(stderr, "bench-echo: cannot connect to %s\n", url.c_str());
    return 2;
  }
  natsSubscription* sub = nullptr;
  natsConnection_Subscribe(&sub, nc, "echo.>", on_request, nullptr);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(nc);
  std::fprintf(stderr, "bench-echo serving\n");
  stop.wait();
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  return 0;
}
