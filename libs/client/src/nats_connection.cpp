#include "dobj/client/nats_connection.hpp"

#include "dobj/core/redact.hpp"
#include "retired_messages.hpp"

#include <algorithm>
#include <string>

namespace dobj {
namespace {

constexpr int kMaxPingsOut = 2;

void check(natsStatus s, const std::string& what) {
  if (s != NATS_OK) {
    throw TransportError(what + ": " + natsStatus_GetText(s) + " (" +
                         (nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "") + ")");
  }
}

// The same for a step on one subject, whose text is made only on failure: every message
// published passes here.
void check(natsStatus s, const char* what, const std::string& subject) {
  if (s != NATS_OK) check(s, what + subject);
}

struct MsgPtr {
  natsMsg* msg = nullptr;
  ~MsgPtr() {
    if (msg) natsMsg_Destroy(msg);
  }
};

natsMsg* create(const std::string& subject, const std::string& reply_to, const std::string& body) {
  natsMsg* msg = nullptr;
  check(natsMsg_Create(&msg, subject.c_str(), reply_to.empty() ? nullptr : reply_to.c_str(),
                       body.data(), static_cast<int>(body.size())),
        "creating a message for ", subject);
  return msg;
}

natsMsg* build(const std::string& subject, const std::string& reply_to, const std::string& body,
               const std::map<std::string, std::string>& headers) {
  natsMsg* msg = create(subject, reply_to, body);
  for (const auto& [k, v] : headers) natsMsgHeader_Set(msg, k.c_str(), v.c_str());
  return msg;
}

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  (*static_cast<NatsConnection::Handler*>(closure))(msg);
}

// How long a timed-out request waits for the server's -ERR that may explain it.
constexpr std::chrono::milliseconds kPermissionErrorGrace{100};

}  // namespace

std::optional<std::string> NatsMessage::header(const std::string& key) const {
  auto it = headers.find(key);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

NatsMessage NatsMessage::from(natsMsg* msg) {
  NatsMessage out;
  out.subject = natsMsg_GetSubject(msg);
  if (const char* r = natsMsg_GetReply(msg)) out.reply_to = r;
  if (const char* d = natsMsg_GetData(msg)) out.body.assign(d, natsMsg_GetDataLength(msg));
  out.no_responders = natsMsg_IsNoResponders(msg);
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK) {
    for (int i = 0; i < count; ++i) {
      const char* value = nullptr;
      if (natsMsgHeader_Get(msg, keys[i], &value) == NATS_OK && value) {
        out.headers[keys[i]] = value;
      }
    }
    free(static_cast<void*>(keys));
  }
  return out;
}

NatsServerList NatsServerList::parse(const std::string& urls) {
  NatsServerList out;
  std::size_t begin = 0;
  while (begin <= urls.size()) {
    auto end = std::min(urls.find(',', begin), urls.size());
    auto url = urls.substr(begin, end - begin);
    auto first = url.find_first_not_of(" \t");
    if (first != std::string::npos) {
      url = url.substr(first, url.find_last_not_of(" \t") - first + 1);
      out.urls.push_back(url);
      // scheme://user:password@host:port
      auto scheme = url.find("://");
      auto at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
      if (out.user.empty() && scheme != std::string::npos && at != std::string::npos) {
        auto info = url.substr(scheme + 3, at - scheme - 3);
        auto colon = info.find(':');
        out.user = info.substr(0, colon);
        if (colon != std::string::npos) out.password = info.substr(colon + 1);
      }
    }
    begin = end + 1;
  }
  if (out.urls.empty()) throw TransportError("no NATS URL given");
  return out;
}

void NatsServerList::apply(natsOptions* opts) const {
  std::vector<const char*> servers;
  for (const auto& url : urls) servers.push_back(url.c_str());
  std::string all;
  for (const auto& url : urls) all += (all.empty() ? "" : ",") + url;
  check(natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size())),
        "bad NATS URL in '" + redact(all) + "'");
  // nats://<token>@host carries a token, not a user.
  if (!user.empty() && password.empty()) {
    check(natsOptions_SetToken(opts, user.c_str()), "bad NATS token");
  } else if (!user.empty()) {
    check(natsOptions_SetUserInfo(opts, user.c_str(), password.c_str()), "bad NATS user info");
  }
}

NatsSubscription& NatsSubscription::operator=(NatsSubscription&& other) noexcept {
  if (this != &other) {
    reset();
    sub_ = std::exchange(other.sub_, nullptr);
  }
  return *this;
}

void NatsSubscription::reset() {
  if (sub_) {
    natsSubscription_Unsubscribe(sub_);
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
  }
}

void NatsSubscription::begin_drain() {
  if (sub_ && natsSubscription_Drain(sub_) != NATS_OK) {
    natsSubscription_Unsubscribe(sub_);  // the connection is closed or reconnecting
  }
}

void NatsSubscription::end_drain(std::chrono::milliseconds timeout) {
  if (!sub_) return;
  natsSubscription_WaitForDrainCompletion(sub_, timeout.count());
  natsSubscription_Destroy(sub_);
  sub_ = nullptr;
}

NatsConnection::NatsConnection(const Options& options)
    : retired_(std::make_unique<RetiredMessages>()) {
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "creating NATS options");
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> guard(opts, natsOptions_Destroy);
  NatsServerList::parse(options.url).apply(opts);
  natsOptions_SetName(opts, options.name.c_str());
  natsOptions_SetSendAsap(opts, options.send_asap);
  natsOptions_SetTimeout(opts, options.connect_timeout.count());
  // Keep reconnecting for as long as the process lives; subscriptions are restored by cnats.
  natsOptions_SetMaxReconnect(opts, -1);
  natsOptions_SetReconnectWait(opts, 250);
  // One delivery thread for all subscriptions instead of one per subscription (a worker may
  // hold hundreds of partition subscriptions).
  natsOptions_UseGlobalMessageDelivery(opts, true);
  natsOptions_SetPingInterval(opts, options.ping_interval.count());
  natsOptions_SetMaxPingsOut(opts, kMaxPingsOut);
  if (!options.inbox_prefix.empty()) {
    check(natsOptions_SetCustomInboxPrefix(opts, options.inbox_prefix.c_str()),
          "bad inbox prefix '" + options.inbox_prefix + "'");
  }
  natsOptions_SetErrorHandler(
      opts,
      [](natsConnection* nc, natsSubscription*, natsStatus status, void* closure) {
        if (status != NATS_NOT_PERMITTED) return;
        const char* text = nullptr;
        natsConnection_GetLastError(nc, &text);
        auto* errors = static_cast<AsyncErrors*>(closure);
        std::lock_guard lock(errors->mutex);
        ++errors->permission_count;
        errors->last_permission_error = text ? text : "not permitted";
      },
      errors_.get());
  auto s = natsConnection_Connect(&conn_, opts);
  if (s != NATS_OK) {
    throw TransportError("cannot connect to NATS at " + redact(options.url) + ": " +
                         natsStatus_GetText(s));
  }
}

bool NatsConnection::connected() const {
  return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED;
}

NatsConnection::~NatsConnection() {
  if (conn_) {
    natsConnection_Close(conn_);
    natsConnection_Destroy(conn_);
  }
}

void NatsConnection::publish(const std::string& subject, const std::string& body,
                             const std::map<std::string, std::string>& headers,
                             const std::string& reply_to) {
  MsgPtr msg{build(subject, reply_to, body, headers)};
  check(natsConnection_PublishMsg(conn_, msg.msg), "publishing to ", subject);
  retire(std::exchange(msg.msg, nullptr));
}

void NatsConnection::publish(const std::string& subject, const std::string& body,
                             std::initializer_list<Header> headers) {
  MsgPtr msg{create(subject, "", body)};
  for (const auto& h : headers) {
    if (h.value) natsMsgHeader_Set(msg.msg, h.key, h.value);
  }
  check(natsConnection_PublishMsg(conn_, msg.msg), "publishing to ", subject);
  retire(std::exchange(msg.msg, nullptr));
}

void NatsConnection::retire(natsMsg* msg) {
  retired_->add(msg);
}

NatsMessage NatsConnection::request(const std::string& subject, const std::string& body,
                                    const std::map<std::string, std::string>& headers,
                                    std::chrono::milliseconds timeout) {
  MsgPtr msg{build(subject, "", body, headers)};
  MsgPtr reply;
  auto refused_before = permission_errors().first;
  auto s = natsConnection_RequestMsg(&reply.msg, conn_, msg.msg, timeout.count());
  if (s == NATS_TIMEOUT || s == NATS_NOT_PERMITTED) {
    // The server drops a refused publish with an asynchronous -ERR: the request only times out.
    // Say why, if the server did (the -ERR may trail the timeout a little).
    natsConnection_FlushTimeout(conn_, kPermissionErrorGrace.count());
    auto [refused, text] = permission_errors();
    if (refused != refused_before) throw NotPermittedError("request to " + subject + ": " + text);
  }
  if (s == NATS_NO_RESPONDERS) {
    NatsMessage out;
    out.subject = subject;
    out.no_responders = true;
    return out;
  }
  check(s, "request to ", subject);
  return NatsMessage::from(reply.msg);
}

NatsSubscription NatsConnection::subscribe(const std::string& subject, Handler handler) {
  Handler* closure = nullptr;
  {
    std::lock_guard lock(handlers_mutex_);
    handlers_.push_back(std::make_unique<Handler>(std::move(handler)));
    closure = handlers_.back().get();
  }
  natsSubscription* sub = nullptr;
  check(natsConnection_Subscribe(&sub, conn_, subject.c_str(), on_message, closure),
        "subscribing to ", subject);
  // No silent drops under a burst: the defaults (65k msgs / 64 MB) are raised.
  natsSubscription_SetPendingLimits(sub, 1'000'000, 1 << 30);
  return NatsSubscription(sub);
}

void NatsConnection::flush(std::chrono::milliseconds timeout) {
  check(natsConnection_FlushTimeout(conn_, timeout.count()), "flushing NATS");
}

std::pair<std::uint64_t, std::string> NatsConnection::permission_errors() const {
  std::lock_guard lock(errors_->mutex);
  return {errors_->permission_count, errors_->last_permission_error};
}

std::int64_t NatsConnection::max_payload() const {
  return natsConnection_GetMaxPayload(conn_);
}

}  // namespace dobj
