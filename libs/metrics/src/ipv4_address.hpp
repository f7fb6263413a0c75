#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>

namespace dobj::metrics {

// "host:port" with an IPv4 host and a port 0-65535; ":port" means 127.0.0.1. The one parser of
// the metrics server's --metrics-addr and of the addresses scrapes go to.
std::optional<sockaddr_in> parse_ipv4_address(const std::string& address);

}  // namespace dobj::metrics
