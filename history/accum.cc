// SPDX-License-Identifier: Apache-2.0
#include "history/accum.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "history/codec.h"
#include "history/store.h"

namespace shmstats::history {
namespace {

// NaN is "no number yet": a number replaces it, and it never replaces a number.
double MinOf(double a, double b) { return std::isnan(a) || b < a ? b : a; }
double MaxOf(double a, double b) { return std::isnan(a) || b > a ? b : a; }

}  // namespace

double MergeMean(double a, int64_t na, double b, int64_t nb) {
  if (na <= 0) return b;
  if (nb <= 0 || a == b) return a;
  const double w = static_cast<double>(nb) / static_cast<double>(na + nb);
  double m = a + (b - a) * w;
  if (!std::isfinite(m)) m = a * (1 - w) + b * w;  // b - a overflowed
  return m;
}

void Accum::Init(MetricType t, size_t buckets) {
  *this = Accum();
  type = t;
  if (t == MetricType::kHistogram) counts.assign(buckets, 0);
}

bool Accum::Add(const StoredValue& v, int64_t interval_ms) {
  switch (type) {
    case MetricType::kCounter:
      increase += v.delta;
      break;
    case MetricType::kGauge:
      min = MinOf(min, v.gauge);
      max = MaxOf(max, v.gauge);
      mean = MergeMean(mean, samples, v.gauge, 1);
      last = v.gauge;
      break;
    case MetricType::kHistogram:
      if (!DecodeBucketsInto(v.blob, counts, sum)) return false;
      break;
  }
  ++samples;
  covered_ms += interval_ms;
  return true;
}

bool Accum::AddRollup(const StoredRollup& r) {
  switch (type) {
    case MetricType::kCounter:
      increase += r.value.delta;
      break;
    case MetricType::kGauge:
      last = r.value.gauge;
      min = MinOf(min, r.min);
      max = MaxOf(max, r.max);
      mean = MergeMean(mean, samples, r.mean, r.n);
      break;
    case MetricType::kHistogram:
      if (!DecodeBucketsInto(r.value.blob, counts, sum)) return false;
      break;
  }
  samples += r.n;
  covered_ms += r.ms;
  return true;
}

void Accum::Merge(const Accum& o) {
  increase += o.increase;
  min = MinOf(min, o.min);
  max = MaxOf(max, o.max);
  mean = MergeMean(mean, samples, o.mean, o.samples);
  if (o.samples > 0) last = o.last;
  sum += o.sum;
  for (size_t i = 0; i < counts.size() && i < o.counts.size(); ++i) counts[i] += o.counts[i];
  samples += o.samples;
  covered_ms += o.covered_ms;
}

uint64_t Accum::Count() const { return std::accumulate(counts.begin(), counts.end(), uint64_t{0}); }

double Accum::Avg() const { return samples > 0 ? mean : NAN; }

}  // namespace shmstats::history
