#include "load_generator.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <vector>
#include "dobj/client/nats_connection.hpp"

namespace dobj::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxConnections = 8;
// Request ids index a preallocated table of send times; a run never sends more.
constexpr std::size_t kMaxRequests = 8'000'000;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Conn;

struct Run {
  const LoadSpec& spec;
  std::string inbox_prefix;
  std::vector<std::unique_ptr<Conn>> conns;
  std::unique_ptr<std::atomic<std::int64_t>[]> sent_at {
    new std::atomic<std::int64_t>[ kMaxRequests ]
  };
  std::atomic<std::uint64_t> next_id{0};
  std::atomic<bool> sending{true};
  std::atomic<std::int64_t> measure_from{0}, measure_to{0};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint64_t> answered{0};  // every reply, in the window or not

  explicit Run(const LoadSpec& s) : spec(s) {}
  void send(Conn& c);
};

struct Conn {
  Run* run = nullptr;
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  std::string reply_prefix;
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::uint64_t errors = 0;
};

void Run::send(Conn& c) {
  auto limit =
      spec.max_requests ? std::min<std::uint64_t>(spec.max_requests, kMaxRequests) : kMaxRequests;
  auto id = next_id++;
  if (id >= limit) return;
  sent_at[id] = now_ns();
  ++in_flight;
  auto subject = spec.subject(id);
  auto reply = c.reply_prefix + std::to_string(id);
  natsMsg* msg = nullptr;
  const std::string body = spec.body_for ? spec.body_for(id) : spec.body;
  natsMsg_Create(&msg, subject.c_str(), reply.c_str(), body.data(), static_cast<int>(body.size()));
  for (const auto& [k, v] : spec.headers) natsMsgHeader_Set(msg, k.c_str(), v.c_str());
  natsConnection_PublishMsg(c.nc, msg);
  natsMsg_Destroy(msg);
}

void on_reply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto& c = *static_cast<Conn*>(closure);
  auto& run = *c.run;
  const char* subject = natsMsg_GetSubject(msg);
  auto id = std::strtoull(std::strrchr(subject, '.') + 1, nullptr, 10);
  const char* status = nullptr;
  bool error = natsMsgHeader_Get(msg, "Dobj-Status", &status) == NATS_OK && status &&
               std::strcmp(status, "error") == 0;
  natsMsg_Destroy(msg);
  auto sent = run.sent_at[id].exchange(0);
  if (sent == 0) return;  // already counted as a timeout
  --run.in_flight;
  if (!error) ++run.answered;
  auto now = now_ns();
  if (sent >= run.measure_from && now <= run.measure_to) {
    std::lock_guard lock(c.mutex);
    c.latencies_ms.push_back(static_cast<double>(now - sent) / 1e6);
    if (error) ++c.errors;
  }
  if (run.spec.rate <= 0 && run.sending) run.send(c);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(idx), v.end());
  return v[idx];
}

}  // namespace

LoadResult run_load(const LoadSpec& spec) {
  Run run(spec);
  std::mt19937_64 rng{std::random_device{}()};
  run.inbox_prefix = "_INBOX.bench" + std::to_string(rng() % 1000000000);
  int nconns = std::clamp(spec.slots, 1, kMaxConnections);
  for (int i = 0; i < nconns; ++i) {
    auto c = std::make_unique<Conn>();
    c->run = &run;
    c->reply_prefix = run.inbox_prefix + "." + std::to_string(i) + ".";
    natsOptions* opts = nullptr;
    natsOptions_Create(&opts);
    NatsServerList::parse(spec.nats_url).apply(opts);
    // A lone request waits ≈ 1 ms for cnats' flusher without it (shared/STACK-NOTES.md); so
    // does every request of an open-loop run, sent one at a time and spaced out, whatever its
    // slots (issue 17 measured the tail at half of the peak with a send-asap generator).
    natsOptions_SetSendAsap(opts, spec.slots <= 16 || spec.rate > 0);
    auto s = natsConnection_Connect(&c->nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) throw std::runtime_error("bench: cannot connect to " + spec.nats_url);
    natsConnection_Subscribe(&c->sub, c->nc, (c->reply_prefix + "*").c_str(), on_reply, c.get());
    natsSubscription_SetPendingLimits(c->sub, -1, -1);
    natsConnection_Flush(c->nc);
    run.conns.push_back(std::move(c));
  }
  auto start = Clock::now();
  auto warmup = spec.max_requests ? std::chrono::milliseconds(0) : spec.warmup;
  // A counted run may take as long as it needs, up to an hour.
  auto duration = spec.max_requests ? std::chrono::milliseconds(3'600'000) : spec.duration;
  run.measure_from = now_ns() + std::chrono::nanoseconds(warmup).count();
  run.measure_to = run.measure_from + std::chrono::nanoseconds(duration).count();

  std::thread pacer;
  if (spec.rate > 0) {
    pacer = std::thread([&] {
      auto interval = std::chrono::duration<double>(1.0 / spec.rate);
      auto next = Clock::now();
      std::size_t i = 0;
      while (run.sending) {
        if (run.in_flight < spec.slots) run.send(*run.conns[i++ % run.conns.size()]);
        next += std::chrono::duration_cast<Clock::duration>(interval);
        std::this_thread::sleep_until(next);
      }
    });
  } else {
    for (int slot = 0; slot < spec.slots; ++slot) run.send(*run.conns[slot % nconns]);
  }
  // The sweeper turns lost replies into timeouts and keeps a closed loop's slot going.
  std::uint64_t timeouts = 0;
  auto deadline = start + warmup + duration;
  while (Clock::now() < deadline + spec.timeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (Clock::now() >= deadline) run.sending = false;
    auto limit = now_ns() - std::chrono::nanoseconds(spec.timeout).count();
    auto sent_count = std::min<std::uint64_t>(run.next_id, kMaxRequests);
    for (std::uint64_t id = 0; id < sent_count; ++id) {
      auto t = run.sent_at[id].load();
      if (t != 0 && t < limit && run.sent_at[id].compare_exchange_strong(t, 0)) {
        --run.in_flight;
        if (t >= run.measure_from && t <= run.measure_to) ++timeouts;
        if (spec.rate <= 0 && run.sending) run.send(*run.conns[id % run.conns.size()]);
      }
    }
    if (!run.sending && run.in_flight <= 0) break;
    if (spec.max_requests && run.next_id >= spec.max_requests && run.in_flight <= 0) break;
  }
  auto elapsed = Clock::now() - start;
  run.sending = false;
  if (pacer.joinable()) pacer.join();
  LoadResult result;
  result.name = spec.name;
  std::vector<double> all;
  for (auto& c : run.conns) {
    natsSubscription_Unsubscribe(c->sub);
    natsSubscription_Destroy(c->sub);
    natsConnection_Close(c->nc);
    natsConnection_Destroy(c->nc);
    std::lock_guard lock(c->mutex);
    all.insert(all.end(), c->latencies_ms.begin(), c->latencies_ms.end());
    result.errors += c->errors;
  }
  result.completed = all.size();
  result.answered = run.answered.load();
  result.timeouts = timeouts;
  result.seconds =
      std::chrono::duration<double>(spec.max_requests ? elapsed : spec.duration).count();
  result.throughput = static_cast<double>(result.completed) / result.seconds;
  result.p50_ms = percentile(all, 0.50);
  result.p99_ms = percentile(all, 0.99);
  result.p999_ms = percentile(all, 0.999);
  result.max_ms = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  return result;
}

}  // namespace dobj::bench
