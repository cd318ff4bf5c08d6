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
// Thread-safety: one thread. Errors: none (a metric whose buckets changed between
// snapshots is treated as new).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "history_writer.h"
#include "shmstats/snapshot.h"

namespace shmstats::daemon {

struct SeriesStat {
  size_t index = 0;         // into TickResult::snapshot.metrics
  bool has_delta = false;   // false for counters/histograms first seen as a baseline
  uint64_t delta = 0;       // counter
  double rate = 0;          // counter: delta per second
  HistogramValue interval;  // histogram: the interval's buckets, count and sum
};

struct TickResult {
  Snapshot snapshot;
  int64_t unix_ms = 0;
  int64_t interval_ms = 0;  // since the previous snapshot; 0 on the first
  std::vector<SeriesStat> stats;
  history::TickRecord record;
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

 private:
  struct Previous {
    uint64_t counter = 0;          // value + reset total
    std::vector<uint64_t> counts;  // each with its reset total
    double sum = 0;                // with its reset total
  };
  std::unordered_map<std::string, Previous> previous_;
  uint64_t instance_id_ = 0;
  int64_t last_ms_ = 0;
};

}  // namespace shmstats::daemon
