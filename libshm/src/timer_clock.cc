// SPDX-License-Identifier: Apache-2.0
// The timers' clock: whether the TSC can be used, and its rate against steady_clock.
// Cold path, once per process; the hot path (metrics.h) only reads timer_state.

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "shmstats/metrics.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace shmstats {

detail::TimerState detail::timer_state;

namespace {

using std::chrono::steady_clock;

#if defined(__x86_64__)

// CPUID 0x80000007, EDX bit 8: the TSC runs at a constant rate in every P-, C- and
// T-state (what Linux reports as constant_tsc and nonstop_tsc).
bool CpuidInvariantTsc() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8)) != 0;
}

bool CpuinfoInvariantTsc() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    bool constant = false, nonstop = false;
    for (std::string f; flags >> f;) {
      constant = constant || f == "constant_tsc";
      nonstop = nonstop || f == "nonstop_tsc";
    }
    return constant && nonstop;
  }
  return false;
}

// The kernel uses the TSC as its clocksource only after checking that it is
// synchronised across CPUs, and switches away if its watchdog finds it drifting.
bool ClocksourceIsTsc() {
  std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string source;
  return static_cast<bool>(in >> source) && source == "tsc";
}

struct Sample {
  int64_t ns;     // steady_clock, the midpoint of the bracket
  uint64_t tsc;   // read inside the bracket
  int64_t width;  // ns between the two steady_clock reads around it
};

// The TSC bracketed by two steady_clock reads; the tightest of a few attempts, so a
// preemption inside one does not matter.
Sample TightSample() {
  Sample best{0, 0, INT64_MAX};
  for (int i = 0; i < 16; ++i) {
    int64_t t0 = steady_clock::now().time_since_epoch().count();
    uint64_t tsc = __builtin_ia32_rdtsc();
    int64_t t1 = steady_clock::now().time_since_epoch().count();
    if (t1 - t0 < best.width) best = {t0 + (t1 - t0) / 2, tsc, t1 - t0};
  }
  return best;
}

// Seconds per TSC tick, measured against steady_clock over ~5 ms; 0 when the TSC
// is not invariant and synchronised, or the measurement is implausible.
double MeasureTsc() {
  if (!(CpuidInvariantTsc() || CpuinfoInvariantTsc()) || !ClocksourceIsTsc()) return 0;
  Sample a = TightSample();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Sample b = TightSample();
  if (b.tsc <= a.tsc || b.ns <= a.ns) return 0;
  double seconds_per_tick =
      static_cast<double>(b.ns - a.ns) * 1e-9 / static_cast<double>(b.tsc - a.tsc);
  // Between 10 MHz and 100 GHz, or something is wrong: do not trust it.
  return seconds_per_tick > 1e-11 && seconds_per_tick < 1e-7 ? seconds_per_tick : 0;
}

#else

double MeasureTsc() { return 0; }

#endif

// Measured once per process, on first need.
double TscSecondsPerTick() noexcept {
  static const double seconds_per_tick = [] {
    try {
      return MeasureTsc();
    } catch (...) {  // a failed read of /proc or /sys: no TSC
      return 0.0;
    }
  }();
  return seconds_per_tick;
}

std::mutex& SwitchMutex() {
  static std::mutex m;
  return m;
}

void Use(TimerClock clock, double seconds_per_tick) {
  detail::timer_state.seconds_per_tick = seconds_per_tick;
  detail::timer_state.clock.store(static_cast<uint8_t>(clock), std::memory_order_release);
}

bool SteadyClockRequested() {
  const char* env = std::getenv("SHMSTATS_TIMER_CLOCK");
  return env != nullptr && std::strcmp(env, "steady_clock") == 0;
}

}  // namespace

TimerClock CalibrateTimerClock() noexcept {
  static const bool calibrated = [] {
    double tsc = SteadyClockRequested() ? 0 : TscSecondsPerTick();
    std::lock_guard lock(SwitchMutex());
    if (detail::timer_state.clock.load(std::memory_order_relaxed) == 0) {
      if (tsc > 0)
        Use(TimerClock::kTsc, tsc);
      else
        Use(TimerClock::kSteadyClock, 1e-9);
    }
    return true;
  }();
  (void)calibrated;
  return static_cast<TimerClock>(detail::timer_state.clock.load(std::memory_order_acquire));
}

bool SetTimerClock(TimerClock clock) noexcept {
  double tsc = clock == TimerClock::kTsc ? TscSecondsPerTick() : 0;
  if (clock == TimerClock::kTsc && tsc == 0) return false;
  if (clock != TimerClock::kTsc && clock != TimerClock::kSteadyClock) return false;
  std::lock_guard lock(SwitchMutex());
  Use(clock, clock == TimerClock::kTsc ? tsc : 1e-9);
  return true;
}

}  // namespace shmstats
