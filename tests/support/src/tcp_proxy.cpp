#include "dobj/testing/tcp_proxy.hpp"

#include "dobj/testing/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace dobj::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPoll{10};
constexpr std::size_t kChunk = 64 * 1024;

int connect_to(int port) {
  int fd = connect_loopback(port);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

struct TcpProxy::Impl {
  // Bytes read from one side, due for the other side at `due`.
  struct Chunk {
    Clock::time_point due;
    std::string bytes;
  };
  struct Direction {
    int from = -1;
    int to = -1;
    std::deque<Chunk> pending;
  };
  struct Link {
    Direction up;    // client → server
    Direction down;  // server → client
    bool closed = false;
  };
  std::vector<Link> links;
};

TcpProxy::TcpProxy(int target_port) : target_port_(target_port), impl_(std::make_unique<Impl>()) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 128) != 0) {
    throw std::runtime_error("tcp proxy: cannot listen");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (pipe(wake_fds_) != 0) throw std::runtime_error("tcp proxy: pipe");
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  [[maybe_unused]] auto n = write(wake_fds_[1], "x", 1);
  thread_.join();
  for (auto& link : impl_->links) {
    if (!link.closed) {
      close(link.up.from);
      close(link.up.to);
    }
  }
  close(listen_fd_);
  close(wake_fds_[0]);
  close(wake_fds_[1]);
}

void TcpProxy::run() {
  auto& links = impl_->links;
  auto close_link = [](Impl::Link& link) {
    if (link.closed) return;
    // RST rather than FIN: the peers see a broken connection, as after a network fault.
    linger hard{1, 0};
    setsockopt(link.up.from, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    setsockopt(link.up.to, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(link.up.from);
    close(link.up.to);
    link.closed = true;
  };
  while (!stopping_) {
    if (cut_requested_.exchange(false)) {
      for (auto& link : links) close_link(link);
    }
    bool frozen = frozen_;
    auto delay = std::chrono::milliseconds(delay_ms_.load());
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    std::vector<std::pair<std::size_t, bool>> owners;  // link index, upstream direction
    for (std::size_t i = 0; i < links.size(); ++i) {
      if (links[i].closed || frozen) continue;
      fds.push_back({links[i].up.from, POLLIN, 0});
      owners.emplace_back(i, true);
      fds.push_back({links[i].down.from, POLLIN, 0});
      owners.emplace_back(i, false);
    }
    poll(fds.data(), fds.size(), static_cast<int>(kPoll.count()));
    if (fds[0].revents & POLLIN) {
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client >= 0) {
        int server = connect_to(target_port_);
        if (server < 0) {
          close(client);
        } else {
          Impl::Link link;
          link.up = {client, server, {}};
          link.down = {server, client, {}};
          links.push_back(std::move(link));
        }
      }
    }
    auto now = Clock::now();
    for (std::size_t k = 2; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto& link = links[owners[k - 2].first];
      if (link.closed) continue;
      auto& dir = owners[k - 2].second ? link.up : link.down;
      char buf[kChunk];
      auto n = read(dir.from, buf, sizeof buf);
      if (n <= 0) {
        close_link(link);
        continue;
      }
      dir.pending.push_back({now + delay, std::string(buf, static_cast<std::size_t>(n))});
    }
    if (frozen) continue;
    now = Clock::now();
    for (auto& link : links) {
      for (auto* dir : {&link.up, &link.down}) {
        while (!link.closed && !dir->pending.empty() && dir->pending.front().due <= now) {
          const auto& bytes = dir->pending.front().bytes;
          std::size_t sent = 0;
          while (sent < bytes.size()) {
            auto n = send(dir->to, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
          }
          if (sent < bytes.size()) {
            close_link(link);
            break;
          }
          dir->pending.pop_front();
        }
      }
    }
    char drain[64];
    if (fds[1].revents & POLLIN) [[maybe_unused]]
      auto n = read(wake_fds_[0], drain, sizeof drain);
  }
}

}  // namespace dobj::testing
