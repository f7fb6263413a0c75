#pragma once

#include <string>

namespace dobj::testing {

struct HttpResponse {
  int status = 0;  // 0: no connection or no HTTP answer
  std::string body;
};

// One GET on 127.0.0.1:port (HTTP/1.0, read to the end): the metrics and probe endpoints.
HttpResponse http_get(int port, const std::string& path);

}  // namespace dobj::testing
