// SPDX-License-Identifier: Apache-2.0
#pragma once

// Turns consecutive snapshots of a segment into per-interval values.
//
//   counter    delta since the previous snapshot, and delta per second, of value +
//              reset total, which resets never lower: exact across resets, and a
//              drop is a wrap at 2^64 (docs/segment-format.md). A re-created segment
//              counts from zero.
//   gauge      its value.
//   histogram  per-bucket deltas (buckets and sum with their reset totals, as for
//              counters), count, sum, mean and p50/p90/p99 of the interval.
//
// A series is matched with its previous snapshot by descriptor index and identity
// (a 64-bit hash of name, labels, type and bucket bounds), so a tick costs no map
// lookup and no key string; a descriptor reused by another series is new.
//
// Thread-safety: one thread. Errors: none (a metric whose buckets changed between
// snapshots is treated as new).

#include <cstdint>
#include <string>
#include <vector>

#include "history/store.h"
#include "shmstats/snapshot.h"

namespace shmstats::daemon {

// 40 bytes a series: a histogram's interval buckets are kept apart
// (TickResult::intervals), so a tick of 100,000 counters does not carry 100,000
// empty HistogramValues.
struct SeriesStat {
  uint64_t identity = 0;   // SeriesIdentity() of the metric
  uint64_t delta = 0;      // counter
  double rate = 0;         // counter: delta per second
  uint32_t index = 0;      // into TickResult::snapshot.metrics
  uint32_t interval = 0;   // histogram: its interval in TickResult::intervals
  bool has_delta = false;  // false for counters/histograms first seen as a baseline
};

// A 64-bit hash of what makes a series itself: name, labels, type, bucket bounds,
// and how many times it was deleted and registered again; never 0.
uint64_t SeriesIdentity(const MetricSnapshot& m);

struct TickResult {
  Snapshot snapshot;
  int64_t unix_ms = 0;
  int64_t interval_ms = 0;  // since the previous snapshot; 0 on the first
  std::vector<SeriesStat> stats;
  std::vector<HistogramValue> intervals;  // histograms' interval buckets, count and sum

  const HistogramValue& Interval(const SeriesStat& st) const { return intervals[st.interval]; }
};

// The history's record of `tick`: every series with an interval value (has_delta),
// a counter's delta, a gauge's value, a histogram's interval buckets (moved out of
// `tick.intervals`), with its SeriesIdentity. The record takes the snapshot's
// metrics themselves, rewritten in place (`tick.snapshot.metrics` is left empty: a
// tick holds one MetricSnapshot per series, not two), or copies their names when
// `copy` is set: take the record last, after everything else that reads the tick.
history::TickRecord TakeRecord(TickResult& tick, bool copy = false);

// Where an Aggregator stands after a Next(): the segment it read and when, and the
// cumulative values (value + reset total) of its counters and histograms, by
// descriptor. A later daemon restores it (baseline.h) so that its first tick records
// the increase since this one instead of starting from a baseline.
struct AggregatorState {
  uint64_t instance_id = 0;
  int64_t last_ms = 0;  // 0: no tick yet (nothing to restore)
  struct Series {
    uint32_t index = 0;            // descriptor
    uint64_t identity = 0;         // SeriesIdentity()
    uint64_t counter = 0;          // a counter's value + reset total
    double sum = 0;                // a histogram's sum + its reset total
    std::vector<uint64_t> counts;  // a histogram's buckets, each + its reset total
  };
  std::vector<Series> series;
};

class Aggregator {
 public:
  // Consumes `snap` (taken after the previous one given here) and returns the
  // interval's values. `fallback_interval_ms` is used when the clock went back.
  TickResult Next(Snapshot snap, int64_t fallback_interval_ms);

  // Before the first Next(): the segment was created at `since_ms`, after the
  // daemon started, so the first snapshot counts from zero over (since, now]
  // instead of being a baseline.
  void StartFromZero(int64_t since_ms) { last_ms_ = since_ms; }
  bool HasBaseline() const { return last_ms_ != 0; }

  // The state after the last Next() (its counters and histograms).
  AggregatorState State() const;
  // Before the first Next(): goes on from `state` (taken by another daemon). A
  // snapshot of another segment instance counts everything from zero, as a reset.
  void Restore(const AggregatorState& state);

 private:
  // 32 bytes a descriptor; a histogram's buckets are kept apart (counts_).
  struct Previous {
    uint64_t identity = 0;  // SeriesIdentity()
    uint64_t counter = 0;   // value + reset total
    double sum = 0;         // a histogram's sum with its reset total
    uint32_t tick = 0;      // the Next() that saw it (mod 2^32); only the last one's count
    uint32_t counts = 0;    // a histogram's buckets (each with its reset total): 1 + the
                            // index in counts_, kept by its descriptor; 0 before one
  };
  std::vector<Previous> previous_;  // by descriptor index
  std::vector<std::vector<uint64_t>> counts_;
  uint32_t ticks_ = 0;
  uint64_t instance_id_ = 0;
  int64_t last_ms_ = 0;
};

}  // namespace shmstats::daemon
