// SPDX-License-Identifier: Apache-2.0
#pragma once

// Samples as the daemon's aggregation hands them to the history writer, for the
// history library's in-process tests.

#include <string>
#include <vector>

#include "shmstats/snapshot.h"

namespace shmstats::history::test {

// A counter's delta over one interval.
inline MetricSnapshot Counter(const std::string& name, uint64_t delta, Labels labels = {}) {
  MetricSnapshot m;
  m.name = name;
  m.labels = std::move(labels);
  m.type = MetricType::kCounter;
  m.counter = delta;
  return m;
}

inline MetricSnapshot Gauge(const std::string& name, double v, Labels labels = {}) {
  MetricSnapshot m;
  m.name = name;
  m.labels = std::move(labels);
  m.type = MetricType::kGauge;
  m.gauge = v;
  return m;
}

// A histogram's delta buckets (bounds 1, 2, 4, 8 and +Inf) and sum over one interval.
inline MetricSnapshot Hist(const std::string& name, std::vector<uint64_t> counts, double sum,
                           Labels labels = {}) {
  MetricSnapshot m;
  m.name = name;
  m.labels = std::move(labels);
  m.type = MetricType::kHistogram;
  m.histogram.bounds = {1, 2, 4, 8};
  m.histogram.counts = std::move(counts);
  m.histogram.sum = sum;
  for (auto c : m.histogram.counts) m.histogram.count += c;
  return m;
}

}  // namespace shmstats::history::test
