#pragma once

#include <map>
#include <string>
#include <vector>

#include "dobj/metrics/scrape.hpp"

namespace dobj::metrics {

// A Prometheus histogram read from a scrape: cumulative counts by upper bound ("le"), +Inf last.
using Buckets = std::map<double, double>;

// The buckets of histogram `name` in `samples`, summed over its label sets.
Buckets histogram_buckets(const std::vector<Sample>& samples, const std::string& name);

// Adds one `<name>_bucket` sample to `buckets` (its "le" label; none: ignored).
void add_bucket(Buckets& buckets, const Sample& sample);

// `later` minus `earlier`, bucket by bucket: the observations made between two scrapes.
void subtract(Buckets& later, const Buckets& earlier);

// The smallest upper bound holding share `q` of the observations (+Inf possible); -1 without
// observations. What an operator can state for sure: "99% took ≤ 25 ms".
double bucket_bound(const Buckets& buckets, double q);

// Share `q` interpolated linearly within its bucket, as Prometheus' histogram_quantile does;
// the bucket's lower bound when it is +Inf; -1 without observations.
double quantile(const Buckets& buckets, double q);

}  // namespace dobj::metrics
