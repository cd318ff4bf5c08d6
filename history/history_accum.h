#pragma once

// Merging stored samples over a time bucket: the one place that says how a step of
// history is computed, shared by queries and by the hourly rollups.
//
//   counter    increase = sum of per-interval deltas; rate = increase / seconds covered
//   gauge      min, max, avg (of the samples), last
//   histogram  per-bucket sum of deltas, so quantiles come from merged buckets
//              (never from averaged quantiles); sum of sums; count

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "shmstats/metric_spec.h"

namespace shmstats::history {

class Stmt;

struct Accum {
  MetricType type = MetricType::kCounter;
  int64_t samples = 0;                                   // raw intervals merged in
  int64_t covered_ms = 0;                                // time those intervals cover
  uint64_t increase = 0;                                 // counter
  double min = std::numeric_limits<double>::infinity();  // gauge
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;                // gauge: sum of values; histogram: sum of observations
  double last = 0;               // gauge
  std::vector<uint64_t> counts;  // histogram buckets, sized by Init

  void Init(MetricType t, size_t buckets);
  // One raw row: `value` is column `col` of `row` as stored by the writer.
  // Returns false for a malformed histogram blob (the row is then ignored).
  bool AddRaw(const Stmt& row, int col, int64_t interval_ms);
  // One rollup row: columns col..col+5 are n, ms, v, mn, mx, sm.
  bool AddRollup(const Stmt& row, int col);
  uint64_t Count() const;
};

}  // namespace shmstats::history
