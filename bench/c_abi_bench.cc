// SPDX-License-Identifier: Apache-2.0
// c_abi_bench: the C ABI's inline recording (shmstats_c.h compiled as C, in
// c_abi_loops.c) beside the C++ handles (metrics.h) in the same run, the same loop
// shape on the same kind of slots: shared and per-CPU striped
// counters, exponential, explicit and striped histograms, timers. Each iteration runs kBatch
// operations in a loop compiled in its own translation unit, so the numbers are per operation.
// Ratios C / C++ are printed after the run, never asserted.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "c_abi_loops.h"
#include "shmstats/shmstats.h"

namespace {

constexpr long kBatch = 1000;

// One metric registered twice in one segment: through the C ABI and in C++.
struct Fixture {
  std::string name = "c-abi-bench-" + std::to_string(getpid());
  shmstats_segment* c_segment = nullptr;
  shmstats_counter c_counter{}, c_striped_counter{};
  shmstats_histogram c_exponential{}, c_explicit{}, c_striped{}, c_timer{};
  std::optional<shmstats::Segment> segment;
  shmstats::Counter counter, striped_counter;
  shmstats::Histogram exponential, explicit_h, striped, timer;
  std::vector<double> values;

  Fixture() {
    shmstats::Segment::Remove(name);
    if (shmstats_segment_create(name.c_str(), nullptr, &c_segment) != SHMSTATS_OK) Die();
    using shmstats::Striping;
    const std::vector<double> bounds = {1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5};
    shmstats_metric_options o;
    auto reg = [&](const char* n, uint64_t striping, auto fn, auto* out) {
      o.name = n;
      o.striping = striping;
      if (fn(c_segment, &o, out) != SHMSTATS_OK) Die();
    };
    shmstats_metric_options_init(&o);
    reg("c_total", SHMSTATS_STRIPING_SHARED, shmstats_register_counter, &c_counter);
    reg("c_striped_total", SHMSTATS_STRIPING_PER_CPU, shmstats_register_counter,
        &c_striped_counter);
    reg("c_seconds", SHMSTATS_STRIPING_SHARED, shmstats_register_histogram, &c_exponential);
    reg("c_timer_seconds", SHMSTATS_STRIPING_SHARED, shmstats_register_histogram, &c_timer);
    o.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
    o.bounds = bounds.data();
    o.n_bounds = bounds.size();
    reg("c_explicit_seconds", SHMSTATS_STRIPING_SHARED, shmstats_register_histogram, &c_explicit);
    reg("c_striped_seconds", SHMSTATS_STRIPING_PER_CPU, shmstats_register_histogram, &c_striped);
    segment.emplace(shmstats::Segment::Open(name));
    auto spec = [](const char* n) { return shmstats::MetricSpec{n, {}, "", ""}; };
    counter = segment->RegisterCounter(spec("cpp_total"));
    striped_counter = segment->RegisterCounter(spec("cpp_striped_total"), Striping::kPerCpu);
    exponential = segment->RegisterHistogram(spec("cpp_seconds"), shmstats::ExponentialBuckets{});
    timer = segment->RegisterHistogram(spec("cpp_timer_seconds"), shmstats::ExponentialBuckets{});
    explicit_h =
        segment->RegisterHistogram(spec("cpp_explicit_seconds"), shmstats::ExplicitBuckets{bounds});
    striped = segment->RegisterHistogram(spec("cpp_striped_seconds"),
                                         shmstats::ExplicitBuckets{bounds}, Striping::kPerCpu);
    shmstats_timer_calibrate();  // the same clock for both: the library's
    std::mt19937_64 rng(1);
    std::lognormal_distribution<double> latency(-7, 2);
    for (int i = 0; i < 1024; ++i) values.push_back(latency(rng));
  }
  ~Fixture() {
    shmstats_segment_close(c_segment);
    shmstats::Segment::Remove(name);
  }
  [[noreturn]] static void Die() {
    std::fprintf(stderr, "c_abi_bench: %s\n", shmstats_last_error());
    std::exit(1);
  }
};

Fixture& F() {
  static Fixture f;
  return f;
}

[[gnu::noinline]] void CppCounterLoop(const shmstats::Counter& c, long n) {
  for (long i = 0; i < n; ++i) c.Inc();
}

[[gnu::noinline]] void CppObserveLoop(const shmstats::Histogram& h, const double* v, long n) {
  for (long i = 0; i < n; ++i) h.Observe(v[i & 1023]);
}

[[gnu::noinline]] void CppTimerLoop(const shmstats::Histogram& h, long n) {
  for (long i = 0; i < n; ++i) shmstats::ScopedTimer timer(h);
}

template <auto Member>
void BM_CppCounterInc(benchmark::State& state) {
  for (auto _ : state) CppCounterLoop(F().*Member, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
template <auto Member>
void BM_CCounterInc(benchmark::State& state) {
  for (auto _ : state) c_counter_inc_loop(F().*Member, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
template <auto Member>
void BM_CppHistogramObserve(benchmark::State& state) {
  for (auto _ : state) CppObserveLoop(F().*Member, F().values.data(), kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
template <auto Member>
void BM_CHistogramObserve(benchmark::State& state) {
  for (auto _ : state) c_histogram_observe_loop(&(F().*Member), F().values.data(), kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
void BM_CppScopedTimer(benchmark::State& state) {
  for (auto _ : state) CppTimerLoop(F().timer, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
void BM_CTimer(benchmark::State& state) {
  for (auto _ : state) c_timer_loop(&F().c_timer, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_CppCounterInc<&Fixture::counter>)->Name("BM_CppCounterInc");
BENCHMARK(BM_CCounterInc<&Fixture::c_counter>)->Name("BM_CCounterInc");
BENCHMARK(BM_CppCounterInc<&Fixture::striped_counter>)->Name("BM_CppStripedCounterInc");
BENCHMARK(BM_CCounterInc<&Fixture::c_striped_counter>)->Name("BM_CStripedCounterInc");
BENCHMARK(BM_CppHistogramObserve<&Fixture::exponential>)->Name("BM_CppHistogramObserve");
BENCHMARK(BM_CHistogramObserve<&Fixture::c_exponential>)->Name("BM_CHistogramObserve");
BENCHMARK(BM_CppHistogramObserve<&Fixture::explicit_h>)->Name("BM_CppExplicitObserve");
BENCHMARK(BM_CHistogramObserve<&Fixture::c_explicit>)->Name("BM_CExplicitObserve");
BENCHMARK(BM_CppHistogramObserve<&Fixture::striped>)->Name("BM_CppStripedObserve");
BENCHMARK(BM_CHistogramObserve<&Fixture::c_striped>)->Name("BM_CStripedObserve");
BENCHMARK(BM_CppScopedTimer);
BENCHMARK(BM_CTimer);

// Keeps each benchmark's CPU time per operation for the ratios printed at the end.
class Reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration && r.iterations > 0) {
        ns[r.benchmark_name()] = r.GetAdjustedCPUTime() / kBatch;
      }
    }
  }
  std::map<std::string, double> ns;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto ratio = [&](const char* what, const char* c, const char* cpp) {
    if (!reporter.ns.count(c) || !reporter.ns.count(cpp)) return;
    std::printf("%s: C %.2f ns, C++ %.2f ns per operation, C / C++ = %.2f\n", what, reporter.ns[c],
                reporter.ns[cpp], reporter.ns[c] / reporter.ns[cpp]);
  };
  ratio("counter inc", "BM_CCounterInc", "BM_CppCounterInc");
  ratio("striped counter inc", "BM_CStripedCounterInc", "BM_CppStripedCounterInc");
  ratio("histogram observe (exponential)", "BM_CHistogramObserve", "BM_CppHistogramObserve");
  ratio("histogram observe (explicit, table)", "BM_CExplicitObserve", "BM_CppExplicitObserve");
  ratio("striped histogram observe (explicit)", "BM_CStripedObserve", "BM_CppStripedObserve");
  ratio("timer (C: now + observe_elapsed; C++: ScopedTimer)", "BM_CTimer", "BM_CppScopedTimer");
  return 0;
}
