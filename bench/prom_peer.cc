// SPDX-License-Identifier: Apache-2.0
#include "prom_peer.h"

namespace shmstats::bench {

PromPeer::PromPeer(const std::vector<double>& explicit_bounds,
                   const std::vector<double>& exponential_bounds)
    : registry(std::make_shared<prometheus::Registry>()) {
  counter = &prometheus::BuildCounter().Name("bench_ops_total").Register(*registry).Add({});
  gauge = &prometheus::BuildGauge().Name("bench_level").Register(*registry).Add({});
  auto& histograms = prometheus::BuildHistogram().Name("bench_seconds").Register(*registry);
  explicit_histogram = &histograms.Add({{"kind", "explicit"}}, explicit_bounds);
  exponential_histogram = &histograms.Add({{"kind", "exponential"}}, exponential_bounds);
}

}  // namespace shmstats::bench
