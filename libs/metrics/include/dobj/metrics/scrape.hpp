#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace dobj::metrics {

struct HttpResponse {
  int status = 0;  // 0: no connection, no answer in time, or no HTTP
  std::string body;
};

// One GET of http://<address><path> ("host:port", IPv4), read to the end within `timeout`.
HttpResponse http_get(const std::string& address, const std::string& path,
                      std::chrono::milliseconds timeout);

// One series of a Prometheus text exposition: name{labels} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of a Prometheus text exposition (comments skipped; timestamps ignored); a line
// that is not a sample is skipped too, so that a newer exporter's additions do no harm.
std::vector<Sample> parse_text(std::string_view text);

}  // namespace dobj::metrics
