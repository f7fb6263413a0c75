#include "ipv4_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdint>

namespace dobj::metrics {

std::optional<sockaddr_in> parse_ipv4_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = colon == 0 ? "127.0.0.1" : address.substr(0, colon);
  auto port_text = std::string_view(address).substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535 ||
      ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return std::nullopt;
  }
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

}  // namespace dobj::metrics
