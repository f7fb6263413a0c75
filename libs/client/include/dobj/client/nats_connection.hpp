#pragma once

#include <nats/nats.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dobj {

class RetiredMessages;

// NATS could not be reached or refused us; not a protocol error, so not a dobj::Error.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The server refused a publish or subscription of this connection (its user's permissions).
class NotPermittedError : public TransportError {
 public:
  using TransportError::TransportError;
};

struct NatsMessage {
  std::string subject;
  std::string reply_to;
  std::map<std::string, std::string> headers;
  std::string body;
  bool no_responders = false;

  std::optional<std::string> header(const std::string& key) const;
  static NatsMessage from(natsMsg* msg);
};

// A subscription that ends when it goes out of scope.
class NatsSubscription {
 public:
  NatsSubscription() = default;
  explicit NatsSubscription(natsSubscription* sub) : sub_(sub) {}
  NatsSubscription(NatsSubscription&& other) noexcept : sub_(std::exchange(other.sub_, nullptr)) {}
  NatsSubscription& operator=(NatsSubscription&& other) noexcept;
  ~NatsSubscription() { reset(); }
  void reset();
  // Orderly end in two steps, so that many subscriptions drain at once: begin_drain() asks the
  // server to stop sending (messages already received are still handled), end_drain() waits at
  // most `timeout` for that and closes the subscription.
  void begin_drain();
  void end_drain(std::chrono::milliseconds timeout);
  natsSubscription* get() const { return sub_; }

 private:
  natsSubscription* sub_ = nullptr;
};

// What --nats and DOBJ_NATS_URL hold: one URL or a comma-separated list (a cluster's nodes), split
// as cnats needs it, with the credentials of the first URL that has any: cnats gives them to
// servers the cluster announces, whose URLs carry none. Throws TransportError for an empty list.
struct NatsServerList {
  std::vector<std::string> urls;
  std::string user;
  std::string password;

  static NatsServerList parse(const std::string& urls);
  // Sets the servers (and the user info, if any) on cnats options.
  void apply(natsOptions* opts) const;
};

// RAII over a cnats connection: thread-safe for publish, request and subscribe.
class NatsConnection {
 public:
  struct Options {
    std::string url;  // or a comma-separated list (NatsServerList)
    std::string name = "dobj";
    // Flush every publish at once: ≈ 200 µs per round trip instead of ≈ 1 ms, at the price of
    // pipelined throughput (shared/STACK-NOTES.md).
    bool send_asap = false;
    std::chrono::milliseconds connect_timeout{2000};
    // How often the client pings the server; two unanswered pings end the connection (then it
    // reconnects). Services keep it short to notice a dead link within seconds.
    std::chrono::milliseconds ping_interval{120'000};
    // Replies arrive under <inbox_prefix>.<random>; empty means _INBOX. An application whose
    // NATS user may subscribe only to its own namespace (deploy/nats/production) sets it.
    std::string inbox_prefix{};
  };
  using Handler = std::function<void(natsMsg*)>;  // the handler owns and destroys the message

  explicit NatsConnection(const Options& options);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  void publish(const std::string& subject, const std::string& body,
               const std::map<std::string, std::string>& headers = {},
               const std::string& reply_to = "");
  // Headers of the hot path (the worker's replies and events): no map to build per message; a
  // null value leaves its header out.
  struct Header {
    const char* key;
    const char* value;
  };
  void publish(const std::string& subject, const std::string& body,
               std::initializer_list<Header> headers);
  // Throws TransportError on timeout, NotPermittedError when the server refused the request's
  // subject or the reply inbox; a no-responders answer comes back with no_responders set.
  NatsMessage request(const std::string& subject, const std::string& body,
                      const std::map<std::string, std::string>& headers,
                      std::chrono::milliseconds timeout);
  NatsSubscription subscribe(const std::string& subject, Handler handler);
  // Destroys a message a handler is done with, in a batch with others (RetiredMessages): on the
  // hot path instead of natsMsg_Destroy.
  void retire(natsMsg* msg);
  void flush(std::chrono::milliseconds timeout);
  natsConnection* raw() const { return conn_; }

  // Largest payload the server accepts.
  std::int64_t max_payload() const;
  // False while the connection is down (reconnecting).
  bool connected() const;
  // How many permissions violations the server reported, and the last one's text.
  std::pair<std::uint64_t, std::string> permission_errors() const;

 private:
  // Written by cnats' error callback thread.
  struct AsyncErrors {
    mutable std::mutex mutex;
    std::uint64_t permission_count = 0;
    std::string last_permission_error;
  };

  std::unique_ptr<AsyncErrors> errors_ = std::make_unique<AsyncErrors>();
  std::unique_ptr<RetiredMessages> retired_;
  natsConnection* conn_ = nullptr;
  std::vector<std::unique_ptr<Handler>> handlers_;
  std::mutex handlers_mutex_;
};

}  // namespace dobj
