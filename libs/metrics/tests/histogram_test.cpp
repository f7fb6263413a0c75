#include "dobj/metrics/histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace dobj::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(Histogram, SumsTheBucketsOfEveryLabelSetOfOneName) {
  auto buckets = histogram_buckets(parse_text("h_bucket{le=\"0.1\",class=\"a\"} 2\n"
                                              "h_bucket{le=\"+Inf\",class=\"a\"} 3\n"
                                              "h_bucket{le=\"0.1\",class=\"b\"} 1\n"
                                              "h_bucket{le=\"+Inf\",class=\"b\"} 1\n"
                                              "h_bucket{class=\"c\"} 9\n"
                                              "other_bucket{le=\"0.1\"} 7\n"
                                              "h_sum 0.4\n"),
                                   "h");
  EXPECT_EQ(buckets, (Buckets{{0.1, 3}, {kInf, 4}}));
}

TEST(Histogram, SubtractsAnEarlierScrape) {
  Buckets later{{0.1, 10}, {1, 15}, {kInf, 16}};
  subtract(later, Buckets{{0.1, 4}, {1, 5}, {kInf, 5}});
  EXPECT_EQ(later, (Buckets{{0.1, 6}, {1, 10}, {kInf, 11}}));
}

TEST(Histogram, BoundIsTheSmallestBucketHoldingTheShare) {
  Buckets b{{0.001, 50}, {0.01, 98}, {0.1, 99}, {kInf, 100}};
  EXPECT_EQ(bucket_bound(b, 0.5), 0.001);
  EXPECT_EQ(bucket_bound(b, 0.9), 0.01);
  EXPECT_EQ(bucket_bound(b, 0.99), 0.1);
  EXPECT_TRUE(std::isinf(bucket_bound(b, 1.0)));
  EXPECT_EQ(bucket_bound(Buckets{}, 0.99), -1);
  EXPECT_EQ(bucket_bound(Buckets{{0.1, 0}, {kInf, 0}}, 0.99), -1);
}

TEST(Histogram, QuantileInterpolatesWithinItsBucketAsPrometheusDoes) {
  Buckets b{{1, 0}, {2, 10}, {4, 20}, {kInf, 21}};
  EXPECT_DOUBLE_EQ(quantile(b, 0.25), 1.0 + 1.0 * (5.25 - 0) / 10);
  EXPECT_DOUBLE_EQ(quantile(b, 0.5), 2.0 + 2.0 * (10.5 - 10) / 10);
  EXPECT_EQ(quantile(b, 1.0), 4);  // in +Inf: its lower bound
  EXPECT_EQ(quantile(Buckets{}, 0.5), -1);
}

}  // namespace
}  // namespace dobj::metrics
