#include "dobj/metrics/scrape.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "ipv4_address.hpp"

namespace dobj::metrics {
namespace {

// Parses `name{k="v",...} value` at the start of `line`; false when it is not a sample.
bool parse_sample(std::string_view line, Sample& out) {
  auto name_end = line.find_first_of("{ ");
  if (name_end == 0 || name_end == std::string_view::npos) return false;
  out.name.assign(line.substr(0, name_end));
  out.labels.clear();
  std::size_t i = name_end;
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      auto eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
        return false;
      }
      std::string key(line.substr(i, eq - i));
      std::string value;
      std::size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value.push_back(line[j] == 'n' ? '\n' : line[j]);
        } else {
          value.push_back(line[j]);
        }
      }
      if (j >= line.size()) return false;
      out.labels.emplace(std::move(key), std::move(value));
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  while (i < line.size() && line[i] == ' ') ++i;
  auto end = line.find(' ', i);
  std::string number(line.substr(i, end == std::string_view::npos ? end : end - i));
  if (number.empty()) return false;
  char* parsed_end = nullptr;
  out.value = std::strtod(number.c_str(), &parsed_end);  // also +Inf, NaN
  return parsed_end == number.c_str() + number.size();
}

}  // namespace

std::vector<Sample> parse_text(std::string_view text) {
  std::vector<Sample> samples;
  Sample sample;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line[0] == '#') continue;
    if (parse_sample(line, sample)) samples.push_back(sample);
  }
  return samples;
}

HttpResponse http_get(const std::string& address, const std::string& path,
                      std::chrono::milliseconds timeout) {
  auto addr = parse_ipv4_address(address);
  if (!addr) return {};
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  HttpResponse r;
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    std::string raw;
    char buf[8192];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
      raw.append(buf, static_cast<std::size_t>(n));
    }
    if (raw.rfind("HTTP/1.", 0) == 0 && raw.size() >= 12) {
      std::from_chars(raw.data() + 9, raw.data() + 12, r.status);
      auto body = raw.find("\r\n\r\n");
      if (body != std::string::npos) r.body = raw.substr(body + 4);
    }
  }
  ::close(fd);
  return r;
}

}  // namespace dobj::metrics
