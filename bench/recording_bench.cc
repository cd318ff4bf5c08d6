// The recording hot path beside its physical floor. Every benchmark runs with one
// thread and with two threads on the same slot or metric. The floor is a relaxed
// fetch_add on a MAP_SHARED mapping in /dev/shm (BM_Floor_AtomicFetchAdd); the
// BM_Ref_* rows are further references that explain the histogram and timer costs.

#include <benchmark/benchmark.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>

#include "bench_env.h"

namespace shmstats::bench {
namespace {

// Each thread starts at its own place in a value array.
size_t FirstValue(const benchmark::State& state) {
  return static_cast<size_t>(state.thread_index()) * (kLearnableValueCount / 2);
}

void Count(std::atomic<uint64_t>& performed, const benchmark::State& state) {
  performed.fetch_add(state.iterations(), std::memory_order_relaxed);
}

void BM_Floor_AtomicFetchAdd(benchmark::State& state) {
  std::atomic<uint64_t>& slot = Env().floor.slot(BenchEnv::kFloorSlot);
  for (auto _ : state) slot.fetch_add(1, std::memory_order_relaxed);
  Count(Env().performed.floor, state);
}

// What a histogram observation must do at least: one fetch_add on a bucket and a
// compare-exchange loop adding a double to the sum, in one cache line.
void BM_Ref_FetchAddAndCasDouble(benchmark::State& state) {
  std::atomic<uint64_t>& count = Env().floor.slot(BenchEnv::kPairCountSlot);
  std::atomic<uint64_t>& sum = Env().floor.slot(BenchEnv::kPairSumSlot);
  const double* values = Env().explicit_values.data();
  size_t i = FirstValue(state);
  for (auto _ : state) {
    double v = values[i++ & kValueMask];
    count.fetch_add(1, std::memory_order_relaxed);
    uint64_t old = sum.load(std::memory_order_relaxed);
    while (!sum.compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + v),
                                      std::memory_order_relaxed)) {
    }
  }
}

// Two fetch_adds in one cache line: what an observation would cost if the sum
// were an integer (x86 has no atomic add for doubles, hence the CAS loop above).
void BM_Ref_TwoFetchAdds(benchmark::State& state) {
  std::atomic<uint64_t>& count = Env().floor.slot(BenchEnv::kPairCountSlot);
  std::atomic<uint64_t>& sum = Env().floor.slot(BenchEnv::kPairSumSlot);
  for (auto _ : state) {
    count.fetch_add(1, std::memory_order_relaxed);
    sum.fetch_add(1, std::memory_order_relaxed);
  }
}

// What a timer must do besides observing: read the clock twice.
void BM_Ref_SteadyClockNowTwice(benchmark::State& state) {
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(std::chrono::steady_clock::now() - start);
  }
}

void BM_CounterInc(benchmark::State& state) {
  const Counter counter = Env().counter;
  for (auto _ : state) counter.Inc();
  Count(Env().performed.counter, state);
}

void BM_GaugeSet(benchmark::State& state) {
  const Gauge gauge = Env().gauge;
  double v = 0;
  for (auto _ : state) gauge.Set(v += 1);
}

void BM_GaugeAdd(benchmark::State& state) {
  const Gauge gauge = Env().gauge;
  for (auto _ : state) gauge.Add(1.5);
}

void ObserveLoop(benchmark::State& state, const Histogram& histogram, const double* values,
                 std::atomic<uint64_t>& performed, size_t mask = kValueMask) {
  const Histogram h = histogram;
  size_t i = FirstValue(state);
  for (auto _ : state) h.Observe(values[i++ & mask]);
  Count(performed, state);
}

void BM_HistogramObserveExplicit(benchmark::State& state) {
  ObserveLoop(state, Env().explicit_histogram, Env().explicit_values.data(),
              Env().performed.explicit_observations);
}

void BM_HistogramObserveExponential(benchmark::State& state) {
  ObserveLoop(state, Env().exponential_histogram, Env().exponential_values.data(),
              Env().performed.exponential_observations);
}

// The same observations cycling through only the first 1024 values, a sequence
// the branch predictor learns: what the explicit search costs when it never
// mispredicts.
void BM_Ref_ObserveExplicitLearnedValues(benchmark::State& state) {
  ObserveLoop(state, Env().explicit_histogram, Env().explicit_values.data(),
              Env().performed.explicit_observations, kLearnableValueCount - 1);
}

void BM_ScopedTimer(benchmark::State& state) {
  const Histogram h = Env().timer_histogram;
  for (auto _ : state) {
    ScopedTimer timer(h);
  }
  Count(Env().performed.timer_observations, state);
}

BENCHMARK(BM_Floor_AtomicFetchAdd)->Threads(1)->Threads(2);
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);
BENCHMARK(BM_GaugeSet)->Threads(1)->Threads(2);
BENCHMARK(BM_GaugeAdd)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramObserveExplicit)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramObserveExponential)->Threads(1)->Threads(2);
BENCHMARK(BM_ScopedTimer)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_FetchAddAndCasDouble)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_TwoFetchAdds)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_SteadyClockNowTwice)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_ObserveExplicitLearnedValues)->Threads(1)->Threads(2);

}  // namespace
}  // namespace shmstats::bench
