#include "dobj/metrics/metrics_server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "dobj/core/error.hpp"
#include "dobj/core/logging.hpp"
#include "ipv4_address.hpp"

namespace dobj::metrics {
namespace {

// A scrape or probe is one short GET: more than this, or slower than this, is not one.
constexpr std::size_t kMaxRequestBytes = 8 * 1024;
constexpr int kRequestTimeoutMs = 2000;

sockaddr_in parse_address(const std::string& address) {
  auto addr = parse_ipv4_address(address);
  if (!addr) {
    throw Error(
        ErrorCode::kBadRequest,
        "metrics address '" + address + "': want host:port, an IPv4 address and a port 0-65535");
  }
  return *addr;
}

// The request's path, or "" when what came is not a GET line within the limits.
std::string read_request_path(int fd) {
  std::string request;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kRequestTimeoutMs);
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return "";
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return "";
    request.append(buf, static_cast<std::size_t>(n));
  }
  if (request.rfind("GET ", 0) != 0) return "";
  auto end = request.find(' ', 4);
  if (end == std::string::npos) return "";
  return request.substr(4, end - 4);
}

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

void respond(int fd, int status, const char* reason, const std::string& body, const char* type) {
  write_all(fd, fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                            "Connection: close\r\n\r\n{}",
                            status, reason, type, body.size(), body));
}

}  // namespace

struct MetricsServer::Impl {
  std::shared_ptr<prometheus::Registry> registry;
  Readiness readiness;
  std::function<void()> before_scrape;
  int listen_fd = -1;
  int stop_fd = -1;  // eventfd: stop() wakes the loop's poll at once
  std::thread thread;

  void serve(int fd) {
    auto path = read_request_path(fd);
    if (path == "/metrics") {
      if (before_scrape) before_scrape();
      respond(fd, 200, "OK", prometheus::TextSerializer().Serialize(registry->Collect()),
              "text/plain; version=0.0.4; charset=utf-8");
    } else if (path == "/healthz") {
      respond(fd, 200, "OK", "ok\n", "text/plain");
    } else if (path == "/readyz") {
      std::optional<std::string> why;
      try {
        why = readiness();
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (why) {
        respond(fd, 503, "Service Unavailable", *why + "\n", "text/plain");
      } else {
        respond(fd, 200, "OK", "ready\n", "text/plain");
      }
    } else if (path.empty()) {
      respond(fd, 400, "Bad Request", "a GET of /metrics, /healthz or /readyz\n", "text/plain");
    } else {
      respond(fd, 404, "Not Found", "/metrics, /healthz, /readyz\n", "text/plain");
    }
  }

  // One connection at a time: scrapes and probes are rare and short, and a slow client is cut
  // off after kRequestTimeoutMs.
  void loop() {
    while (true) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      try {
        serve(fd);
      } catch (const std::exception& e) {
        logger("metrics")->warn("metrics request failed: {}", e.what());
      }
      ::close(fd);
    }
  }
};

MetricsServer::MetricsServer(std::shared_ptr<prometheus::Registry> registry, Readiness readiness,
                             std::function<void()> before_scrape)
    : impl_(std::make_unique<Impl>()) {
  impl_->registry = std::move(registry);
  impl_->readiness = std::move(readiness);
  impl_->before_scrape = std::move(before_scrape);
}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::start(const std::string& address) {
  auto addr = parse_address(address);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 16) != 0) {
    auto why = std::string(std::strerror(errno));
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::kBadRequest, "cannot listen on metrics address " + address + ": " + why);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  char host[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
  address_ = std::string(host) + ":" + std::to_string(port_);
  impl_->listen_fd = fd;
  impl_->stop_fd = ::eventfd(0, EFD_CLOEXEC);
  impl_->thread = std::thread([this] { impl_->loop(); });
}

void MetricsServer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  std::uint64_t one = 1;
  (void)::write(impl_->stop_fd, &one, sizeof one);
  impl_->thread.join();
  ::close(impl_->listen_fd);
  ::close(impl_->stop_fd);
  impl_->listen_fd = impl_->stop_fd = -1;
}

}  // namespace dobj::metrics
