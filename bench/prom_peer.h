// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <vector>

namespace shmstats::bench {

// The peer: prometheus-cpp's metrics in process memory (its Counter and Gauge are
// atomics behind an out-of-line call, its Histogram a std::lower_bound and a mutex),
// one of each kind the benchmarks record into, with the same buckets as BenchEnv's.
// Linked into the benchmark programs only. Thread-safety: as prometheus-cpp's.
struct PromPeer {
  PromPeer(const std::vector<double>& explicit_bounds,
           const std::vector<double>& exponential_bounds);

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Counter* counter;
  prometheus::Gauge* gauge;
  prometheus::Histogram* explicit_histogram;     // BenchEnv's 16 explicit bounds
  prometheus::Histogram* exponential_histogram;  // the bounds of BenchEnv's exponential buckets
};

}  // namespace shmstats::bench
