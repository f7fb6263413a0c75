#pragma once

#include <string>

#include "dobj/metrics/scrape.hpp"

namespace dobj::testing {

using HttpResponse = metrics::HttpResponse;

// One GET on 127.0.0.1:port: the metrics and probe endpoints of the services a test started.
HttpResponse http_get(int port, const std::string& path);

}  // namespace dobj::testing
