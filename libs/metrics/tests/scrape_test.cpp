#include "dobj/metrics/scrape.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace dobj::metrics {
namespace {

TEST(ParseText, ReadsNamesLabelsAndValuesAndSkipsTheRest) {
  auto samples = parse_text(
      "# HELP dobj_requests_total Requests\n"
      "# TYPE dobj_requests_total counter\n"
      "dobj_requests_total{class=\"Counter\",method=\"inc\",status=\"ok\"} 5\n"
      "dobj_requests_total{class=\"\",method=\"\",status=\"no_such_class\"} 1 1700000000000\n"
      "dobj_lease_valid 1\n"
      "dobj_turn_seconds_bucket{le=\"+Inf\",class=\"a\\\"b\\\\c\"} 7\n"
      "not a sample\n"
      "broken{class=\"x} 3\n"
      "\n");
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(samples[0].name, "dobj_requests_total");
  EXPECT_EQ(samples[0].labels.at("method"), "inc");
  EXPECT_EQ(samples[0].value, 5);
  EXPECT_EQ(samples[1].labels.at("class"), "");
  EXPECT_EQ(samples[1].value, 1);  // the timestamp is not the value
  EXPECT_EQ(samples[2].name, "dobj_lease_valid");
  EXPECT_TRUE(samples[2].labels.empty());
  EXPECT_EQ(samples[3].labels.at("class"), "a\"b\\c");
  EXPECT_TRUE(std::isinf(std::stod(samples[3].labels.at("le"))));
}

TEST(HttpGet, NoServerIsStatusZero) {
  EXPECT_EQ(http_get("127.0.0.1:1", "/metrics", std::chrono::milliseconds(500)).status, 0);
  EXPECT_EQ(http_get("not-an-address", "/metrics", std::chrono::milliseconds(500)).status, 0);
}

}  // namespace
}  // namespace dobj::metrics
