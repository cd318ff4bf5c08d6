// SPDX-License-Identifier: Apache-2.0
#pragma once

// Merging stored samples over a time bucket: the one place that says how a step of
// history is computed, shared by every store, the queries, the summaries and the
// hourly rollups.
//
//   counter    increase = sum of per-interval deltas (the collector turns a reset into
//              the delta since the reset); rate = increase / seconds covered
//   gauge      min, max, mean (a running, sample-weighted mean: a constant's mean is
//              that constant, exactly, and the largest doubles do not overflow), last
//   histogram  per-bucket sum of deltas, so quantiles come from merged buckets
//              (never from averaged quantiles); sum of sums; count

#include <cstdint>
#include <limits>
#include <vector>

#include "shmstats/metric_spec.h"

namespace shmstats::history {

struct StoredValue;
struct StoredRollup;

struct Accum {
  MetricType type = MetricType::kCounter;
  int64_t samples = 0;     // raw intervals merged in
  int64_t covered_ms = 0;  // time those intervals cover
  uint64_t increase = 0;   // counter
  // gauge: min and max skip NaN samples, as PromQL's min_over_time and max_over_time
  // do: they are NaN only when every sample was NaN, or without samples.
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double mean = 0;               // gauge: mean of the samples
  double last = 0;               // gauge
  double sum = 0;                // histogram: sum of observations
  std::vector<uint64_t> counts;  // histogram buckets, sized by Init

  void Init(MetricType t, size_t buckets);
  // One raw sample covering interval_ms. Returns false for a malformed histogram
  // blob (the sample is then ignored).
  bool Add(const StoredValue& v, int64_t interval_ms);
  // One hourly rollup row.
  bool AddRollup(const StoredRollup& r);
  // Merges another accumulator of the same type and bucket count that comes later
  // in time (its last wins).
  void Merge(const Accum& o);
  uint64_t Count() const;
  double Avg() const;  // gauge mean; NaN without samples
};

// The mean of na samples of mean a and nb samples of mean b, without overflow, and
// exactly a when a == b (so -0.0 stays -0.0).
double MergeMean(double a, int64_t na, double b, int64_t nb);

}  // namespace shmstats::history
