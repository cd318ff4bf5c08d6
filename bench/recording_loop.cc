// SPDX-License-Identifier: Apache-2.0
// recording_loop OPERATION ITERATIONS: performs one recording operation in a fixed
// loop on a segment of its own, then checks the recorded total. A subject for
// `valgrind --tool=callgrind` (instruction counts are stable where wall time is not)
// and for `objdump -dC` (each Loop* function holds the inlined hot path, with the
// handle copied into a local as an application would hold it).
// OPERATION: floor | counter | gauge_set | gauge_add | explicit | exponential | timer
//   | striped_counter | striped_exponential (Striping::kPerCpu)
//   | per_cpu_floor | steady_timer (ScopedTimer before it read the TSC) | the prometheus-cpp
//   peer: prom_counter | prom_gauge_set | prom_gauge_add | prom_explicit | prom_exponential
// Exit status: 0 when the total matches, 1 on a mismatch, 2 on bad usage or set-up.

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "bench_env.h"

namespace shmstats::bench {
namespace {

[[gnu::noipa]] void LoopFloor(std::atomic<uint64_t>& slot, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) slot.fetch_add(1, std::memory_order_relaxed);
}

[[gnu::noipa]] void LoopCounterInc(const Counter& handle, uint64_t n) {
  const Counter counter = handle;
  for (uint64_t i = 0; i < n; ++i) counter.Inc();
}

[[gnu::noipa]] void LoopGaugeSet(const Gauge& handle, uint64_t n) {
  const Gauge gauge = handle;
  for (uint64_t i = 0; i < n; ++i) gauge.Set(static_cast<double>(i));
}

[[gnu::noipa]] void LoopGaugeAdd(const Gauge& handle, uint64_t n) {
  const Gauge gauge = handle;
  for (uint64_t i = 0; i < n; ++i) gauge.Add(1.5);
}

[[gnu::noipa]] void LoopObserve(const Histogram& handle, const double* values, uint64_t n) {
  const Histogram h = handle;
  for (uint64_t i = 0; i < n; ++i) h.Observe(values[i & kValueMask]);
}

[[gnu::noipa]] void LoopScopedTimer(const Histogram& handle, uint64_t n) {
  const Histogram h = handle;
  for (uint64_t i = 0; i < n; ++i) {
    ScopedTimer timer(h);
  }
}

[[gnu::noipa]] void LoopPerCpuFloor(const RawShm& floor, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    auto cpu = static_cast<unsigned>(sched_getcpu()) % BenchEnv::kPerCpuSlots;
    floor.slot(BenchEnv::kPerCpuSlot + 8 * cpu).fetch_add(1, std::memory_order_relaxed);
  }
}

// ScopedTimer as it was before it read the TSC: two steady_clock::now() and an observe.
[[gnu::noipa]] void LoopSteadyTimer(const Histogram& handle, uint64_t n) {
  const Histogram h = handle;
  for (uint64_t i = 0; i < n; ++i) {
    auto start = std::chrono::steady_clock::now();
    h.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

[[gnu::noipa]] void LoopPromCounter(prometheus::Counter& c, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) c.Increment();
}

[[gnu::noipa]] void LoopPromGaugeSet(prometheus::Gauge& g, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) g.Set(static_cast<double>(i));
}

[[gnu::noipa]] void LoopPromGaugeAdd(prometheus::Gauge& g, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) g.Increment(1.5);
}

[[gnu::noipa]] void LoopPromObserve(prometheus::Histogram& h, const double* values, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) h.Observe(values[i & kValueMask]);
}

// Runs `op` n times; returns false for an unknown operation.
bool Run(BenchEnv& env, const std::string& op, uint64_t n) {
  if (op == "floor") {
    LoopFloor(env.floor.slot(BenchEnv::kFloorSlot), n);
    env.performed.floor += n;
  } else if (op == "counter") {
    LoopCounterInc(env.counter, n);
    env.performed.counter += n;
  } else if (op == "gauge_set") {
    LoopGaugeSet(env.gauge, n);
  } else if (op == "gauge_add") {
    LoopGaugeAdd(env.gauge, n);
  } else if (op == "explicit") {
    LoopObserve(env.explicit_histogram, env.explicit_values.data(), n);
    env.performed.explicit_observations += n;
  } else if (op == "exponential") {
    LoopObserve(env.exponential_histogram, env.exponential_values.data(), n);
    env.performed.exponential_observations += n;
  } else if (op == "timer") {
    CalibrateTimerClock();  // once per process, not part of the loop
    LoopScopedTimer(env.timer_histogram, n);
    env.performed.timer_observations += n;
  } else if (op == "striped_counter") {
    LoopCounterInc(env.striped_counter, n);
    env.performed.striped_counter += n;
  } else if (op == "striped_exponential") {
    LoopObserve(env.striped_histogram, env.exponential_values.data(), n);
    env.performed.striped_observations += n;
  } else if (op == "per_cpu_floor") {
    LoopPerCpuFloor(env.floor, n);
  } else if (op == "steady_timer") {
    LoopSteadyTimer(env.timer_histogram, n);
    env.performed.timer_observations += n;
  } else if (op == "prom_counter") {
    LoopPromCounter(*env.prom->counter, n);
  } else if (op == "prom_gauge_set") {
    LoopPromGaugeSet(*env.prom->gauge, n);
  } else if (op == "prom_gauge_add") {
    LoopPromGaugeAdd(*env.prom->gauge, n);
  } else if (op == "prom_explicit") {
    LoopPromObserve(*env.prom->explicit_histogram, env.explicit_values.data(), n);
  } else if (op == "prom_exponential") {
    LoopPromObserve(*env.prom->exponential_histogram, env.exponential_values.data(), n);
  } else {
    return false;
  }
  return true;
}

}  // namespace
}  // namespace shmstats::bench

int main(int argc, char** argv) {
  using namespace shmstats::bench;
  if (argc != 3) {
    std::cerr << "usage: recording_loop floor|counter|gauge_set|gauge_add|explicit|"
                 "exponential|timer|striped_counter|striped_exponential|per_cpu_floor|"
                 "steady_timer|prom_counter|prom_gauge_set|"
                 "prom_gauge_add|prom_explicit|prom_exponential ITERATIONS\n";
    return 2;
  }
  char* end = nullptr;
  uint64_t n = std::strtoull(argv[2], &end, 10);
  if (*argv[2] == '\0' || *end != '\0') {
    std::cerr << "recording_loop: ITERATIONS must be a non-negative integer, not '" << argv[2]
              << "'\n";
    return 2;
  }
  try {
    BenchEnv env("shmstats-loop-" + std::to_string(getpid()));
    if (!Run(env, argv[1], n)) {
      std::cerr << "recording_loop: unknown operation '" << argv[1] << "'\n";
      return 2;
    }
    return env.CheckTotals(std::cout) ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "recording_loop: " << e.what() << "\n";
    return 2;
  }
}
