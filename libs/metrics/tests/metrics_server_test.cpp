#include "dobj/metrics/metrics_server.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <string>

#include "dobj/core/error.hpp"
#include "dobj/testing/http_get.hpp"

namespace dobj::metrics {
namespace {

TEST(MetricsServer, ServesMetricsHealthAndReadinessOnAPortItChose) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& requests = prometheus::BuildCounter().Name("dobj_test_total").Register(*registry);
  requests.Add({{"status", "ok"}}).Increment(3);
  std::atomic<bool> ready{false};
  MetricsServer server(registry, [&]() -> std::optional<std::string> {
    if (ready) return std::nullopt;
    return "lease not valid";
  });
  server.start("127.0.0.1:0");
  ASSERT_GT(server.port(), 0);

  EXPECT_EQ(testing::http_get(server.port(), "/healthz").status, 200);
  auto not_ready = testing::http_get(server.port(), "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "lease not valid\n");
  ready = true;
  EXPECT_EQ(testing::http_get(server.port(), "/readyz").status, 200);
  auto scraped = testing::http_get(server.port(), "/metrics");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.body.find("dobj_test_total{status=\"ok\"} 3"), std::string::npos)
      << scraped.body;
  EXPECT_EQ(testing::http_get(server.port(), "/nothing").status, 404);
  server.stop();
  EXPECT_EQ(testing::http_get(server.port(), "/healthz").status, 0);  // closed
}

TEST(MetricsServer, RefusesABadAddressOrAPortInUse) {
  auto registry = std::make_shared<prometheus::Registry>();
  MetricsServer first(registry, [] { return std::nullopt; });
  first.start(":0");  // host defaults to loopback
  ASSERT_GT(first.port(), 0);
  MetricsServer second(registry, [] { return std::nullopt; });
  EXPECT_THROW(second.start("127.0.0.1:" + std::to_string(first.port())), Error);
  for (const char* bad : {"9464", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:12x"}) {
    MetricsServer server(registry, [] { return std::nullopt; });
    EXPECT_THROW(server.start(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace dobj::metrics
