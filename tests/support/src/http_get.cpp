#include "dobj/testing/http_get.hpp"

namespace dobj::testing {

HttpResponse http_get(int port, const std::string& path) {
  constexpr std::chrono::seconds kTimeout{5};
  return metrics::http_get("127.0.0.1:" + std::to_string(port), path, kTimeout);
}

}  // namespace dobj::testing
