// The naive baseline: what a team would write instead of dobj. A stateless NATS service that
// runs one PostgreSQL UPSERT (read-modify-write in one statement, autocommit) per request on a
// pool of connections, one thread each. Subject naive.inc.<id>; reply: the new value.
#include <nats/nats.h>

#include "dobj/core/stop_signals.hpp"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Queue {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<natsMsg*> items;
  bool closed = false;
};

void on_request(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto& q = *static_cast<Queue*>(closure);
  {
    std::lock_guard lock(q.mutex);
    q.items.push_back(msg);
  }
  q.ready.notify_one();
}

void serve(Queue& q, natsConnection* nc, const std::string& db_url) {
  pqxx::connection conn(db_url);
  conn.prepare("inc",
               "INSERT INTO naive_counters (id, value) VALUES ($1, 1) "
               "ON CONFLICT (id) DO UPDATE SET value = naive_counters.value + 1 RETURNING value");
  while (true) {
    natsMsg* msg = nullptr;
    bool last = false;
    {
      std::unique_lock lock(q.mutex);
      q.ready.wait(lock, [&] { return q.closed || !q.items.empty(); });
      if (q.items.empty()) return;
      msg = q.items.front();
      q.items.pop_front();
      last = q.items.empty();
    }
    std::string subject = natsMsg_GetSubject(msg);
    std::string id = subject.substr(subject.rfind('.') + 1);
    std::string value;
    try {
      pqxx::nontransaction tx(conn);
      value = tx.exec_prepared1("inc", id)[0].c_str();
    } catch (const std::exception& e) {
      value = "null";
    }
    if (const char* reply = natsMsg_GetReply(msg)) {
      natsConnection_Publish(nc, reply, value.data(), static_cast<int>(value.size()));
      // Nothing else waiting: out now, not when cnats' flusher next runs (as the worker does).
      if (last) natsConnection_Flush(nc);
    }
    natsMsg_Destroy(msg);
  }
}

}  // namespace

int main(int argc, char** argv) {
  dobj::StopSignals stop;
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench-naive <nats-url> <database-url> <pool-size>\n");
    return 2;
  }
  std::string nats_url = argv[1], db_url = argv[2];
  int pool = std::stoi(argv[3]);
  {
    pqxx::connection conn(db_url);
    pqxx::nontransaction tx(conn);
    tx.exec0("CREATE TABLE IF NOT EXISTS naive_counters (id text PRIMARY KEY, value bigint)");
  }
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, nats_url.c_str()) != NATS_OK) return 2;
  Queue q;
  std::vector<std::thread> threads;
  for (int i = 0; i < pool; ++i) threads.emplace_back([&] { serve(q, nc, db_url); });
  natsSubscription* sub = nullptr;
  natsConnection_Subscribe(&sub, nc, "naive.inc.*", on_request, &q);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(nc);
  std::fprintf(stderr, "bench-naive serving\n");
  stop.wait();
  natsSubscription_Destroy(sub);
  {
    std::lock_guard lock(q.mutex);
    q.closed = true;
  }
  q.ready.notify_all();
  for (auto& t : threads) t.join();
  natsConnection_Destroy(nc);
  return 0;
}
