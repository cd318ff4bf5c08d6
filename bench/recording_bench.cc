// SPDX-License-Identifier: Apache-2.0
// The recording hot path beside its physical floor and its peer. Every benchmark
// runs with one thread and with two threads on the same slot or metric. The floor
// is a relaxed fetch_add on a MAP_SHARED mapping in /dev/shm (BM_Floor_AtomicFetchAdd),
// and a fetch_add on the running CPU's own cache line (BM_Floor_PerCpuSlot); the
// BM_Peer_Prom* rows do the same with prometheus-cpp; the BM_Ref_* rows are further
// references that explain the histogram and timer costs.

#include <benchmark/benchmark.h>
#include <sched.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "bench_env.h"
#include "co_running.h"

namespace shmstats::bench {
namespace {

// Each thread starts at its own place in a value array.
size_t FirstValue(const benchmark::State& state) {
  return static_cast<size_t>(state.thread_index()) * (kLearnableValueCount / 2);
}

// A double added by a CAS loop, as the sum of an observation must be (x86 has no
// atomic add for doubles), written here rather than taken from libshm.
void AddDoubleFloor(std::atomic<uint64_t>& slot, double v) {
  uint64_t old = slot.load(std::memory_order_relaxed);
  while (!slot.compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + v),
                                     std::memory_order_relaxed)) {
  }
}

// The observation floor's step: v (one of exponential_floor_values) added to the
// sum, then a count added to the bucket its low bits name.
void AddToSumAndItsBucket(std::atomic<uint64_t>* slots, double v) {
  AddDoubleFloor(slots[0], v);
  slots[1 + (std::bit_cast<uint64_t>(v) & 1023)].fetch_add(1, std::memory_order_relaxed);
}

void Count(std::atomic<uint64_t>& performed, const benchmark::State& state) {
  performed.fetch_add(state.iterations(), std::memory_order_relaxed);
}

void BM_Floor_AtomicFetchAdd(benchmark::State& state) {
  std::atomic<uint64_t>& slot = Env().floor.slot(BenchEnv::kFloorSlot);
  for (auto _ : state) slot.fetch_add(1, std::memory_order_relaxed);
  Count(Env().performed.floor, state);
}

// The floor of a striped counter: the same fetch_add on the running CPU's own
// cache line, the CPU from sched_getcpu() (glibc reads it from the rseq area).
void BM_Floor_PerCpuSlot(benchmark::State& state) {
  RawShm& floor = Env().floor;
  for (auto _ : state) {
    auto cpu = static_cast<unsigned>(sched_getcpu()) % BenchEnv::kPerCpuSlots;
    floor.slot(BenchEnv::kPerCpuSlot + 8 * cpu).fetch_add(1, std::memory_order_relaxed);
  }
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
    AddDoubleFloor(sum, v);
  }
}

// What an exponential observation must write, where it writes it: the sum's CAS,
// then the add of the value's bucket (its index precomputed), in slots laid out as
// the histogram's. Only the bucket's index is not computed.
void BM_Ref_SumCasAndItsBucketAdd(benchmark::State& state) {
  std::atomic<uint64_t>* slots = &Env().floor.slot(BenchEnv::kHistogramFloorSlot);
  const double* values = Env().exponential_floor_values.data();
  size_t i = FirstValue(state);
  for (auto _ : state) AddToSumAndItsBucket(slots, values[i++ & kValueMask]);
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

// The least a TSC timer must do besides observing: two RDTSC.
void BM_Ref_RdtscTwice(benchmark::State& state) {
  for (auto _ : state) {
    uint64_t start = __builtin_ia32_rdtsc();
    benchmark::DoNotOptimize(__builtin_ia32_rdtsc() - start);
  }
}

// What ScopedTimer did before it read the TSC: two steady_clock::now(), the
// difference as double seconds, one observe.
void BM_Ref_SteadyClockTimer(benchmark::State& state) {
  const Histogram h = Env().timer_histogram;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    h.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  Count(Env().performed.timer_observations, state);
}

void BM_CounterInc(benchmark::State& state) {
  const Counter counter = Env().counter;
  for (auto _ : state) counter.Inc();
  Count(Env().performed.counter, state);
}

// Beside BM_CounterInc: the float counter's CAS loop on a double (prometheus_client's
// fractional increments) against the integer counter's fetch_add.
void BM_FloatCounterInc(benchmark::State& state) {
  const FloatCounter counter = Env().float_counter;
  for (auto _ : state) counter.Inc(0.5);
}

void BM_CounterIncStriped(benchmark::State& state) {
  const Counter counter = Env().striped_counter;
  for (auto _ : state) counter.Inc();
  Count(Env().performed.striped_counter, state);
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

void BM_HistogramObserveStriped(benchmark::State& state) {
  ObserveLoop(state, Env().striped_histogram, Env().exponential_values.data(),
              Env().performed.striped_observations);
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

// The peer, prometheus-cpp, on the same operations (in process memory).
void BM_Peer_PromCounterInc(benchmark::State& state) {
  prometheus::Counter& counter = *Env().prom->counter;
  for (auto _ : state) counter.Increment();
}

void BM_Peer_PromGaugeSet(benchmark::State& state) {
  prometheus::Gauge& gauge = *Env().prom->gauge;
  double v = 0;
  for (auto _ : state) gauge.Set(v += 1);
}

void BM_Peer_PromGaugeAdd(benchmark::State& state) {
  prometheus::Gauge& gauge = *Env().prom->gauge;
  for (auto _ : state) gauge.Increment(1.5);
}

void PromObserveLoop(benchmark::State& state, prometheus::Histogram& h, const double* values) {
  size_t i = FirstValue(state);
  for (auto _ : state) h.Observe(values[i++ & kValueMask]);
}

void BM_Peer_PromHistogramObserveExplicit(benchmark::State& state) {
  PromObserveLoop(state, *Env().prom->explicit_histogram, Env().explicit_values.data());
}

void BM_Peer_PromHistogramObserveExponential(benchmark::State& state) {
  PromObserveLoop(state, *Env().prom->exponential_histogram, Env().exponential_values.data());
}

// prometheus-cpp has no timer: two steady_clock::now() and an observe.
void BM_Peer_PromTimer(benchmark::State& state) {
  prometheus::Histogram& h = *Env().prom->exponential_histogram;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    h.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

BENCHMARK(BM_Floor_AtomicFetchAdd)->Threads(1)->Threads(2);
BENCHMARK(BM_Floor_PerCpuSlot)->Threads(1)->Threads(2);
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);
BENCHMARK(BM_FloatCounterInc)->Threads(1)->Threads(2);
BENCHMARK(BM_CounterIncStriped)->Threads(1)->Threads(2);
BENCHMARK(BM_GaugeSet)->Threads(1)->Threads(2);
BENCHMARK(BM_GaugeAdd)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramObserveExplicit)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramObserveExponential)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramObserveStriped)->Threads(1)->Threads(2);
BENCHMARK(BM_ScopedTimer)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_FetchAddAndCasDouble)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_SumCasAndItsBucketAdd)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_TwoFetchAdds)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_SteadyClockNowTwice)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_ObserveExplicitLearnedValues)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_SteadyClockTimer)->Threads(1)->Threads(2);
BENCHMARK(BM_Ref_RdtscTwice)->Threads(1)->Threads(2);
BENCHMARK(BM_Peer_PromCounterInc)->Threads(1)->Threads(2);
BENCHMARK(BM_Peer_PromGaugeSet)->Threads(1)->Threads(2);
BENCHMARK(BM_Peer_PromGaugeAdd)->Threads(1)->Threads(2);
BENCHMARK(BM_Peer_PromHistogramObserveExplicit)->Threads(1)->Threads(2);
BENCHMARK(BM_Peer_PromHistogramObserveExponential)->Threads(1)->Threads(2);
BENCHMARK(BM_Peer_PromTimer)->Threads(1)->Threads(2);

}  // namespace

std::vector<CoRunRow> CoRunRecording(double seconds, std::vector<InTurnRow>* in_turn) {
  BenchEnv& env = Env();
  std::vector<CoRunRow> rows;
  auto run = [&](const char* name, std::atomic<uint64_t>* performed,
                 const std::function<void(int, uint64_t)>& batch) {
    CoRunResult r = CoRun(batch, seconds);
    if (performed) performed->fetch_add(r.ops);
    rows.push_back({name, r});
  };
  run("floor: fetch_add, one shared word", &env.performed.floor, [&](int, uint64_t n) {
    std::atomic<uint64_t>& slot = env.floor.slot(BenchEnv::kFloorSlot);
    for (uint64_t i = 0; i < n; ++i) slot.fetch_add(1, std::memory_order_relaxed);
  });
  run("floor: fetch_add, per-CPU slot", nullptr, [&](int, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      auto cpu = static_cast<unsigned>(sched_getcpu()) % BenchEnv::kPerCpuSlots;
      env.floor.slot(BenchEnv::kPerCpuSlot + 8 * cpu).fetch_add(1, std::memory_order_relaxed);
    }
  });
  run("Counter::Inc", &env.performed.counter, [&](int, uint64_t n) {
    const Counter c = env.counter;
    for (uint64_t i = 0; i < n; ++i) c.Inc();
  });
  run("Counter::Inc, striped", &env.performed.striped_counter, [&](int, uint64_t n) {
    const Counter c = env.striped_counter;
    for (uint64_t i = 0; i < n; ++i) c.Inc();
  });
  run("prometheus-cpp Counter::Increment", nullptr, [&](int, uint64_t n) {
    prometheus::Counter& c = *env.prom->counter;
    for (uint64_t i = 0; i < n; ++i) c.Increment();
  });
  auto observe = [&](const Histogram& histogram, const std::vector<double>& values) {
    return [&histogram, &values](int t, uint64_t n) {
      const Histogram h = histogram;
      size_t at = static_cast<size_t>(t) * kLearnableValueCount;
      for (uint64_t i = 0; i < n; ++i) h.Observe(values[at++ & kValueMask]);
    };
  };
  auto prom_observe = [&](prometheus::Histogram& h, const std::vector<double>& values) {
    return [&h, &values](int t, uint64_t n) {
      size_t at = static_cast<size_t>(t) * kLearnableValueCount;
      for (uint64_t i = 0; i < n; ++i) h.Observe(values[at++ & kValueMask]);
    };
  };
  // The exponential observe, its two floors and its peer, in turn over many rounds:
  // their costs drift by more than the 10 % a target tells apart, with 2 threads
  // from one second to the next (the phase of their contention), with 1 as the
  // machine's load changes.
  {
    auto one_line = [&](int t, uint64_t n) {
      std::atomic<uint64_t>& count = env.floor.slot(BenchEnv::kPairCountSlot);
      std::atomic<uint64_t>& sum = env.floor.slot(BenchEnv::kPairSumSlot);
      size_t at = static_cast<size_t>(t) * kLearnableValueCount;
      for (uint64_t i = 0; i < n; ++i) {
        const double v = env.exponential_values[at++ & kValueMask];
        count.fetch_add(1, std::memory_order_relaxed);
        AddDoubleFloor(sum, v);
      }
    };
    auto where_observe_writes = [&](int t, uint64_t n) {
      std::atomic<uint64_t>* slots = &env.floor.slot(BenchEnv::kHistogramFloorSlot);
      size_t at = static_cast<size_t>(t) * kLearnableValueCount;
      for (uint64_t i = 0; i < n; ++i)
        AddToSumAndItsBucket(slots, env.exponential_floor_values[at++ & kValueMask]);
    };
    const std::vector<std::function<void(int, uint64_t)>> ops = {
        one_line, where_observe_writes,
        prom_observe(*env.prom->exponential_histogram, env.exponential_values),
        observe(env.exponential_histogram, env.exponential_values)};
    const char* names[] = {kFloorOneLine, kFloorWhereObserveWrites, kPeerExponential,
                           kObserveExponential};
    auto co = CoRunInTurn(ops, 3 * seconds, kInTurnRounds);
    for (size_t op = 0; op < co.size(); ++op) {
      CoRunRow row{names[op], {}};
      InTurnRow turns{std::string(names[op]) + ", 2 threads co-running", {}};
      for (const CoRunResult& r : co[op]) {
        Pool(row.result, r);
        turns.ns.push_back(r.co_batches > 0 ? r.ns_per_op : NAN);
      }
      rows.push_back(row);
      in_turn->push_back(turns);
    }
    env.performed.exponential_observations.fetch_add(rows.back().result.ops);
    // 1 thread: rounds of about the same CPU time as the 2-thread ones.
    const auto n = static_cast<uint64_t>(3 * seconds / kInTurnRounds / 20e-9) + 1;
    auto alone = AloneInTurn(ops, n, kInTurnRounds);
    for (size_t op = 0; op < alone.size(); ++op)
      in_turn->push_back({std::string(names[op]) + ", 1 thread", alone[op]});
    env.performed.exponential_observations.fetch_add(n * kInTurnRounds);
  }
  run("Histogram::Observe, exponential, striped", &env.performed.striped_observations,
      observe(env.striped_histogram, env.exponential_values));
  run("Histogram::Observe, explicit", &env.performed.explicit_observations,
      observe(env.explicit_histogram, env.explicit_values));
  run("prometheus-cpp Histogram::Observe, explicit", nullptr,
      prom_observe(*env.prom->explicit_histogram, env.explicit_values));
  return rows;
}

}  // namespace shmstats::bench
