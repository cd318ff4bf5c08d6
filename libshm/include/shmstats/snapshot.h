// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shmstats/metric_spec.h"

namespace shmstats {

// A histogram as read at one instant. counts.size() == bounds.size() + 1: counts[i]
// is the number of observations in (bounds[i-1], bounds[i]], the last one is +Inf.
// count is the sum of counts, so the snapshot is always consistent.
struct HistogramValue {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
  uint64_t count = 0;
  // What resets have taken so far (see MetricSnapshot::counter_reset_total), per
  // bucket and for the sum; sizes match counts.
  std::vector<uint64_t> reset_counts;
  double reset_sum = 0;
  // Exponential (native) buckets: n = (counts.size() - 3) / 2 positive buckets of
  // native indexes first .. first+n-1 at this schema. counts are, in order: the
  // negative overflow (below -bound(first+n-1)), the negative buckets from index
  // first+n-1 down to first, the zero bucket (|v| <= zero_threshold, its bound
  // zero_threshold), the positive buckets first .. first+n-1, +Inf. The first bucket of
  // either sign also holds the values between zero_threshold and it.
  bool exponential = false;
  int schema = 0;
  int64_t first_index = 0;
  double zero_threshold = 0;
};

// An exemplar (OpenMetrics): the labels of one observation (a trace id, say), its
// value and when it was stored.
struct Exemplar {
  Labels labels;         // in the order they were given
  double value = 0;      // the increment, or the observed value
  double timestamp = 0;  // Unix seconds
};

// A copy of one published metric. Plain data, owned by the caller.
struct MetricSnapshot {
  std::string name;
  Labels labels;  // sorted by label name
  MetricType type = MetricType::kCounter;
  std::string help;
  std::string unit;
  uint64_t counter = 0;  // kCounter
  // kCounter: the sum of what resets have taken. counter + counter_reset_total
  // (mod 2^64) never decreases: a drop of it is a wrap at 2^64, never a reset.
  uint64_t counter_reset_total = 0;
  // kCounter registered as a FloatCounter: its value and reset total are these
  // doubles, and counter / counter_reset_total are their whole parts (floor, clamped
  // to [0, 2^64-1]) for readers that only count in integers.
  bool fractional = false;
  double counter_double = 0;
  double counter_double_reset_total = 0;
  double gauge = 0;          // kGauge
  HistogramValue histogram;  // kHistogram
  uint32_t index = 0;        // descriptor index in the segment; stable while it exists
  // Process-scoped series (Scope::kProcess) added into this one: counters and
  // histograms of live or exited-but-not-yet-folded processes, gauges of live ones.
  uint32_t process_series = 0;
  // Times the series was deleted and registered again (it restarted from zero each
  // time), and its idle TTL (MetricSpec::ttl_seconds; 0: none).
  uint32_t generation = 0;
  uint32_t ttl_seconds = 0;
  // Shared counters and histograms that were given exemplars: a counter's (one), or
  // one per histogram bucket, in counts' order; nullopt where none was stored.
  // Empty when the series never had one.
  std::vector<std::optional<Exemplar>> exemplars;
  // The producer that created the series (ProducerInfo::ref); 0 if unknown.
  uint64_t producer = 0;
};

// The whole part of a float counter's value (floor, clamped to [0, 2^64-1]).
inline uint64_t WholePart(double v) noexcept {
  if (!(v > 0)) return 0;
  return v >= 0x1p64 ? ~uint64_t{0} : static_cast<uint64_t>(v);
}

// A counter's value as a double (exact for integer counters up to 2^53).
inline double CounterValue(const MetricSnapshot& m) noexcept {
  return m.fractional ? m.counter_double : static_cast<double>(m.counter);
}

// Every published metric of a segment, in descriptor order. A descriptor that
// fails validation is left out and described in `problems` (the segment is
// untrusted input: nothing in it is used before it is checked). Segment::Read
// leaves room in `metrics` for kSnapshotSpare more, so a reader that appends its
// own (shmstatsd adds its metrics) does not move every series read.
inline constexpr size_t kSnapshotSpare = 256;
struct Snapshot {
  uint64_t taken_unix_ns = 0;
  uint64_t instance_id = 0;  // changes when the segment is re-created
  std::vector<MetricSnapshot> metrics;
  std::vector<std::string> problems;
};

// The bucket layout as one number, kept beside a histogram's bounds by the history
// store and the spool: 0 for explicit buckets, 128 + schema for exponential ones
// (the bounds say the rest). Stores written before format 3 hold 1..10 (log-linear
// exponential buckets, read back as explicit: their bounds are stored).
int32_t LayoutWord(const HistogramValue& h) noexcept;
// Sets h's exponential fields from a LayoutWord and h.bounds; leaves h explicit (and
// returns false) when the word is not exponential or the bounds are not its layout's.
bool ApplyLayoutWord(HistogramValue& h, int32_t word);

// The q-quantile (0 <= q <= 1) of a histogram, as Prometheus's histogram_quantile()
// computes it: rank q*count, the first non-empty bucket whose cumulative count reaches
// it, and linear interpolation within that bucket; the first bucket's lower edge is 0
// when its bound is positive, and a rank in +Inf returns the last finite bound.
// Returns NaN for an empty histogram or q outside [0, 1].
// The bucket found holds the exact nearest-rank quantile of the observations, so for
// exponential buckets the result is within relative error 2^(2^-schema) - 1 of it
// whenever its magnitude lies above the first positive bound and at most the last.
double Quantile(const HistogramValue& h, double q) noexcept;

}  // namespace shmstats
