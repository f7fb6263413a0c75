#include "dobj/metrics/histogram.hpp"

#include <cmath>
#include <cstdlib>

namespace dobj::metrics {

Buckets histogram_buckets(const std::vector<Sample>& samples, const std::string& name) {
  Buckets out;
  const std::string bucket_name = name + "_bucket";
  for (const auto& s : samples) {
    if (s.name == bucket_name) add_bucket(out, s);
  }
  return out;
}

void add_bucket(Buckets& buckets, const Sample& sample) {
  auto le = sample.labels.find("le");
  if (le == sample.labels.end()) return;
  // strtod reads the exposition's "+Inf" as infinity.
  buckets[std::strtod(le->second.c_str(), nullptr)] += sample.value;
}

void subtract(Buckets& later, const Buckets& earlier) {
  for (auto& [le, count] : later) {
    auto it = earlier.find(le);
    if (it != earlier.end()) count -= it->second;
  }
}

namespace {
double total_of(const Buckets& buckets) {
  return buckets.empty() ? 0 : buckets.rbegin()->second;
}
}  // namespace

double bucket_bound(const Buckets& buckets, double q) {
  double total = total_of(buckets);
  if (total <= 0) return -1;
  for (const auto& [le, count] : buckets) {
    if (count >= q * total) return le;
  }
  return -1;
}

double quantile(const Buckets& buckets, double q) {
  double total = total_of(buckets);
  if (total <= 0) return -1;
  double lower = 0, below = 0;
  for (const auto& [le, count] : buckets) {
    if (count >= q * total) {
      if (std::isinf(le) || count <= below) return lower;
      return lower + (le - lower) * (q * total - below) / (count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

}  // namespace dobj::metrics
