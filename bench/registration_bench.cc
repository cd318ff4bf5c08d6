// SPDX-License-Identifier: Apache-2.0
// Registration cost per series at 1k, 10k and 100k series of one family (two labels
// each), beside prometheus-cpp's Family::Add (the peer, in-process maps) in the same
// run. Each iteration registers N new series into a fresh segment (created and
// removed outside the timing), by its creator and, as a producer beside a daemon
// that created it, through a mapping of its own; the ratio table divides each by the
// peer at the same N. Targets (printed, not asserted), on CPU time (the registering
// thread's cost; on a loaded machine wall time mostly measures when the scheduler
// let it run): flat within 2x from 1k to 100k, within 3x of the peer. Results and
// commands: docs/performance.md.

#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "ratio_reporter.h"
#include "shmstats/shmstats.h"

namespace {

using shmstats::MetricSpec;
using shmstats::Segment;

std::vector<MetricSpec> Specs(int64_t n) {
  std::vector<MetricSpec> specs;
  specs.reserve(n);
  for (int64_t k = 0; k < n; ++k)
    specs.push_back({"bench_requests_total",
                     {{"instance", "host-" + std::to_string(k)}, {"shard", std::to_string(k % 16)}},
                     "",
                     ""});
  return specs;
}

// N registrations into a fresh segment, by its creator (attach = false) or, as a
// producer process beside the daemon that created it, through a mapping of its own.
void Register(benchmark::State& state, bool attach) {
  const std::vector<MetricSpec> specs = Specs(state.range(0));
  const std::string name = "bench-registration-" + std::to_string(getpid());
  shmstats::SegmentOptions options;  // the defaults: 131,072 series
  for (auto _ : state) {
    state.PauseTiming();
    Segment::Remove(name);
    {
      Segment s = Segment::Create(name, options);
      // A new mapping has no page of the segment mapped, as in another process.
      if (attach) s = Segment::Open(name, shmstats::Access::kReadWrite);
      state.ResumeTiming();
      for (const MetricSpec& spec : specs) benchmark::DoNotOptimize(s.RegisterCounter(spec));
      state.PauseTiming();
    }
    Segment::Remove(name);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Register(benchmark::State& state) { Register(state, false); }
void BM_RegisterAttached(benchmark::State& state) { Register(state, true); }

void BM_PrometheusCppAdd(benchmark::State& state) {
  const std::vector<MetricSpec> specs = Specs(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    {
      auto registry = std::make_shared<prometheus::Registry>();
      auto& family = prometheus::BuildCounter().Name("bench_requests_total").Register(*registry);
      state.ResumeTiming();
      for (const MetricSpec& spec : specs)
        benchmark::DoNotOptimize(&family.Add({{spec.labels[0].first, spec.labels[0].second},
                                              {spec.labels[1].first, spec.labels[1].second}}));
      state.PauseTiming();
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_PrometheusCppAdd)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Register)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RegisterAttached)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return shmstats::bench::RunWithRatios(
      argc, argv, "BM_PrometheusCppAdd", "ms", [](const auto& reporter) {
        double per_1k = reporter.MedianCpuNs("BM_Register/1000") / 1'000;
        double per_100k = reporter.MedianCpuNs("BM_Register/100000") / 100'000;
        std::cout << "Targets (cpu time):\n";
        shmstats::bench::RatioReporter::PrintTarget(std::cout, "per-series cost, 100k / 1k",
                                                    per_100k / per_1k, 2);
        for (const char* n : {"1000", "10000", "100000"})
          shmstats::bench::RatioReporter::PrintTarget(
              std::cout, std::string("registration / prometheus-cpp Family::Add at ") + n,
              reporter.MedianCpuNs(std::string("BM_Register/") + n) /
                  reporter.MedianCpuNs(std::string("BM_PrometheusCppAdd/") + n),
              3);
        for (const char* n : {"1000", "10000", "100000"})
          shmstats::bench::RatioReporter::PrintTarget(
              std::cout, std::string("registration by another mapping / prometheus-cpp at ") + n,
              reporter.MedianCpuNs(std::string("BM_RegisterAttached/") + n) /
                  reporter.MedianCpuNs(std::string("BM_PrometheusCppAdd/") + n),
              3);
      });
}
