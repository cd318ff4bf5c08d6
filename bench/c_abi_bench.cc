// c_abi_bench: the C ABI's inline recording (shmstats_c.h compiled as C, in
// c_abi_loops.c) beside the C++ handles (metrics.h) in the same run, the same loop
// shape on the same kind of slots (issue 8). Each iteration runs kBatch operations
// in a loop compiled in its own translation unit, so the numbers are per operation.
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

struct Fixture {
  std::string name = "c-abi-bench-" + std::to_string(getpid());
  shmstats_segment* c_segment = nullptr;
  shmstats_counter c_counter{};
  shmstats_histogram c_histogram{};
  std::optional<shmstats::Segment> segment;
  shmstats::Counter counter;
  shmstats::Histogram histogram;
  std::vector<double> values;

  Fixture() {
    shmstats::Segment::Remove(name);
    if (shmstats_segment_create(name.c_str(), nullptr, &c_segment) != SHMSTATS_OK) {
      std::fprintf(stderr, "c_abi_bench: %s\n", shmstats_last_error());
      std::exit(1);
    }
    shmstats_metric_options o;
    shmstats_metric_options_init(&o);
    o.name = "c_total";
    shmstats_register_counter(c_segment, &o, &c_counter);
    o.name = "c_seconds";
    shmstats_register_histogram(c_segment, &o, &c_histogram);
    segment.emplace(shmstats::Segment::Open(name));
    counter = segment->RegisterCounter({"cpp_total", {}, "", ""});
    histogram =
        segment->RegisterHistogram({"cpp_seconds", {}, "", ""}, shmstats::ExponentialBuckets{});
    std::mt19937_64 rng(1);
    std::lognormal_distribution<double> latency(-7, 2);
    for (int i = 0; i < 1024; ++i) values.push_back(latency(rng));
  }
  ~Fixture() {
    shmstats_segment_close(c_segment);
    shmstats::Segment::Remove(name);
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

void BM_CppCounterInc(benchmark::State& state) {
  for (auto _ : state) CppCounterLoop(F().counter, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
void BM_CCounterInc(benchmark::State& state) {
  for (auto _ : state) c_counter_inc_loop(F().c_counter, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
void BM_CppHistogramObserve(benchmark::State& state) {
  for (auto _ : state) CppObserveLoop(F().histogram, F().values.data(), kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
void BM_CHistogramObserve(benchmark::State& state) {
  for (auto _ : state) c_histogram_observe_loop(&F().c_histogram, F().values.data(), kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_CppCounterInc);
BENCHMARK(BM_CCounterInc);
BENCHMARK(BM_CppHistogramObserve);
BENCHMARK(BM_CHistogramObserve);

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
  ratio("histogram observe (exponential)", "BM_CHistogramObserve", "BM_CppHistogramObserve");
  return 0;
}
