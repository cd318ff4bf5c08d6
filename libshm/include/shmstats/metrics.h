// SPDX-License-Identifier: Apache-2.0
#pragma once

// The recording hot path, all of it in this file. Every operation here is inline,
// noexcept and lock-free: relaxed atomics on slots of an already-mapped segment, no
// system call, allocation, lock, virtual call or exception. Handles are two to six
// words, cheap to copy, and safe to use from any number of threads and processes at
// once. A handle stays valid while the Segment that returned it lives. A
// default-constructed handle is unbound: it records into a private dummy slot and
// is never read.

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#endif

// The recording functions are inlined into their callers whatever the compiler's
// size heuristics say (with gcc -O2, Observe grew past them): a call would cost more
// than the operation.
#define SHMSTATS_HOT [[gnu::always_inline]] inline

namespace shmstats {

class Segment;

namespace detail {

using Slot = std::atomic<uint64_t>;
static_assert(Slot::is_always_lock_free, "shared-memory slots need lock-free 64-bit atomics");
static_assert(sizeof(Slot) == 8 && alignof(Slot) == 8);

// Where unbound handles write: one histogram's worth of dummy slots per thread is
// not needed, since nothing reads them; sharing them is harmless. An unbound
// histogram has three buckets (negative, zero, positive) after its sum.
inline Slot unbound_slots[4];

// Adds d to the double stored in s. A CAS loop: x86 has no atomic double add.
SHMSTATS_HOT void AddDouble(Slot& s, double d) noexcept {
  uint64_t old = s.load(std::memory_order_relaxed);
  while (!s.compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + d),
                                  std::memory_order_relaxed)) {
  }
}

// The CPU this thread runs on, for choosing a stripe: glibc (2.35 and later)
// keeps it in the thread's rseq area, which the kernel updates on every migration,
// so reading it is one load; where rseq is not registered, sched_getcpu() (the vDSO's
// getcpu on x86-64, RDPID or LSL: no system call either). The answer may be stale
// by the time it is used: any stripe is correct, the running CPU's is only faster.
SHMSTATS_HOT unsigned CurrentCpu() noexcept {
#if defined(RSEQ_SIG) && (defined(__x86_64__) || defined(__aarch64__))
  const auto* rseq = reinterpret_cast<const volatile struct rseq*>(
      static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset);
  auto rseq_cpu = static_cast<int32_t>(rseq->cpu_id);
  if (rseq_cpu >= 0) [[likely]]
    return static_cast<unsigned>(rseq_cpu);
#endif
  int cpu = sched_getcpu();
  return cpu >= 0 ? static_cast<unsigned>(cpu) : 0;
}

// One cell of an explicit histogram's lookup table (see Histogram::TableIndex):
// the number of bounds below every value of the cell, and the next two bounds
// (+Inf past the last), the only ones that can be below some of its values.
struct alignas(32) BucketCell {
  double candidate[2];
  uint64_t first;
};

// What an unbound exponential handle indexes: schema 0's two cells (any table
// works: the unbound slots are never read).
inline constexpr uint64_t kUnboundNativeCells[2] = {0, (uint64_t{1} << 63) | 1};

// The key of the native bucket of a double's magnitude bits `mag` (finite, normal):
// its index at schema s plus 2^(10 + s), where precision = max(s, 0), coarse =
// max(-s, 0) and cells = the precision's table (buckets::NativeCells). The exponent
// gives the octave; the top precision+1 mantissa bits pick a cell whose entry holds
// the sub-bucket of the cell's first mantissa (low 11 bits) and, above, the mantissa
// of the one sub-bucket bound that may lie inside the cell.
SHMSTATS_HOT int64_t NativeKey(const uint64_t* cells, int precision, unsigned coarse,
                               uint64_t mag) noexcept {
  const uint64_t mantissa = mag & ((uint64_t{1} << 52) - 1);
  const uint64_t cell = cells[mantissa >> (51 - precision)];
  const uint64_t sub = (cell & 0x7ff) + ((mantissa << 11) > cell);
  return static_cast<int64_t>(
      ((((mag >> 52) + 1) << precision) + sub + ((uint64_t{1} << coarse) - 1)) >> coarse);
}

// Checks, in the C ABI (c_api.cc), that the C handles of shmstats_c.h have these
// handles' layout field for field.
struct CAbiLayout;

}  // namespace detail

// A monotonic 64-bit counter. Wraps at 2^64. A striped counter (Striping::kPerCpu)
// adds to the running CPU's own cache line; readers sum the stripes.
class Counter {
 public:
  Counter() noexcept : slot_(&detail::unbound_slots[0]) {}
  SHMSTATS_HOT void Inc(uint64_t n = 1) const noexcept {
    detail::Slot* slot = slot_;
    if (stripe_mask_ != 0) slot += 8 * (detail::CurrentCpu() & stripe_mask_);
    slot->fetch_add(n, std::memory_order_relaxed);
  }

 private:
  friend class Segment;
  friend struct detail::CAbiLayout;
  detail::Slot* slot_;
  uint32_t stripe_mask_ = 0;  // stripes - 1 (a power of two); 0: not striped
};

// A counter holding a double, as prometheus_client's counters do: any non-negative
// increment, fractions included; integers are exact up to 2^53, beyond that a sum
// rounds as doubles do (it never wraps). Inc of a negative or NaN amount is ignored
// (the hot path never fails: callers that must refuse them check first). Not
// striped, and shared-scope only (Segment::RegisterFloatCounter).
class FloatCounter {
 public:
  FloatCounter() noexcept : slot_(&detail::unbound_slots[0]) {}
  SHMSTATS_HOT void Inc(double d = 1) const noexcept {
    if (d >= 0) detail::AddDouble(*slot_, d);
  }

 private:
  friend class Segment;
  friend struct detail::CAbiLayout;
  detail::Slot* slot_;
};

// A gauge holding a double: negative and fractional values are fine.
class Gauge {
 public:
  Gauge() noexcept : slot_(&detail::unbound_slots[0]) {}
  SHMSTATS_HOT void Set(double v) const noexcept {
    slot_->store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
  }
  SHMSTATS_HOT void Add(double d) const noexcept { detail::AddDouble(*slot_, d); }
  SHMSTATS_HOT void Sub(double d) const noexcept { detail::AddDouble(*slot_, -d); }

 private:
  friend class Segment;
  friend struct detail::CAbiLayout;
  explicit Gauge(detail::Slot* slot) noexcept : slot_(slot) {}
  detail::Slot* slot_;
};

// A histogram: one atomic count per bucket and an atomic sum; the total count is
// the sum of the buckets, so a reader always sees count == sum of buckets.
// Observe(NaN) is ignored: it carries no value and would poison the sum. A striped
// histogram (Striping::kPerCpu) has a sum and buckets per stripe, on the running
// CPU's own cache lines; readers sum the stripes.
class Histogram {
 public:
  Histogram() noexcept : slots_(&detail::unbound_slots[0]) {}

  SHMSTATS_HOT void Observe(double v) const noexcept {
    if (v != v) return;
    detail::Slot* slots = slots_;
    if (stripe_mask_ != 0) slots += size_t{stripe_stride_} * (detail::CurrentCpu() & stripe_mask_);
    // The sum first: its CAS needs only v, so the bucket's index is computed while
    // it runs, instead of delaying the locked add that the CAS would then wait for.
    detail::AddDouble(slots[0], v);
    (slots + 1)[BucketIndex(v)].fetch_add(1, std::memory_order_relaxed);
  }

  // The bucket Observe(v) counts v in: explicit bounds: the first whose bound is >= v,
  // or the last (+Inf); exponential: see ExponentialIndex. REQUIRES: v is not NaN.
  SHMSTATS_HOT size_t BucketIndex(double v) const noexcept {
    if (kind_ == kExponential) return ExponentialIndex(v);
    return kind_ == kTable ? TableIndex(v) : SearchIndex(bounds_, n_bounds_, v);
  }

 private:
  friend class Segment;
  friend struct detail::CAbiLayout;
  enum Kind : uint8_t { kExponential = 0, kTable = 1, kSearch = 2 };

  // Explicit bounds, through a table built at registration in process memory (the
  // bounds in the segment stay the truth for readers). The value's bits, made into
  // a key that orders like the doubles (negatives flipped), pick a cell; the cell
  // says how many bounds lie below all its values, and holds the at most two that
  // may lie below v. Two loads, one dependent on the other, and no branch on v.
  SHMSTATS_HOT size_t TableIndex(double v) const noexcept {
    int64_t bits = std::bit_cast<int64_t>(v);
    int64_t key = bits ^ static_cast<int64_t>(static_cast<uint64_t>(bits >> 63) >> 1);
    key = std::clamp(key, min_key_, last_);
    const detail::BucketCell& c =
        cells_[(static_cast<uint64_t>(key) - static_cast<uint64_t>(min_key_)) >> shift_];
    return c.first + (c.candidate[0] < v) + (c.candidate[1] < v);
  }

  // Explicit bounds that no table of bounded size narrows to two candidates: the
  // first bound >= v, or n_bounds_ (+Inf), by a binary search on the bounds in the
  // segment whose step is masked in rather than chosen by ?:, which gcc turns into
  // a jump that mispredicts on live values.
  [[gnu::noinline]] static size_t SearchIndex(const detail::Slot* bounds, size_t n,
                                              double v) noexcept {
    size_t base = 0;
    while (n > 1) {
      size_t half = n / 2;
      base += half & (size_t{0} - static_cast<size_t>(Bound(bounds[base + half - 1]) < v));
      n -= half;
    }
    return base + (Bound(bounds[base]) < v);
  }

  static double Bound(const detail::Slot& s) noexcept {
    return std::bit_cast<double>(s.load(std::memory_order_relaxed));
  }

  // Native (Prometheus/OpenTelemetry) exponential buckets, the algorithm of
  // docs/segment-format.md: the exponent gives the octave, the top schema+1 mantissa
  // bits pick a cell of a per-schema table whose entry holds the sub-bucket of the
  // cell's first value and the one sub-bucket bound that may lie inside the cell (one
  // comparison); a coarse schema (< 0) shifts the octave down. The index is clamped
  // to the registered range, then mirrored about the zero bucket by the sign.
  SHMSTATS_HOT size_t ExponentialIndex(double v) const noexcept {
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    const uint64_t mag2 = bits << 1;  // the magnitude, shifted left: no 64-bit mask to load
    // d: 1 + the bucket's offset from the first positive bucket, before the clamp. A
    // schema >= 0 needs no rounding shift (the branch goes the same way on every call).
    int64_t d;
    if (coarse_shift_ == 0) [[likely]] {
      const uint64_t m11 = (bits << 12) >> 1;  // the mantissa << 11, as the cells hold it
      const uint64_t cell = native_[m11 >> (62 - shift_)];
      d = static_cast<int64_t>(((mag2 >> 53) << shift_) + (cell & 0x7ff) + (m11 > cell)) -
          (min_key_ - (int64_t{1} << shift_) - 1);
    } else {
      d = detail::NativeKey(native_, 0, coarse_shift_, mag2 >> 1) - (min_key_ - 1);
    }
    d = std::clamp<int64_t>(d, 1, last_ + 1);
    d &= -static_cast<int64_t>(mag2 > (zero_bits_ << 1));
    const int64_t neg = static_cast<int64_t>(bits) >> 63;
    return static_cast<size_t>(last_ + 1 + ((d ^ neg) - neg));
  }

  detail::Slot* slots_;  // [sum][count of bucket 0 ... +Inf] of stripe 0, as in the segment
  union {
    const uint64_t* native_ = detail::kUnboundNativeCells;  // exponential: the schema's cells
    const detail::BucketCell* cells_;                       // kTable: owned by the Segment
    const detail::Slot* bounds_;  // kSearch: the finite bounds in the segment
  };
  int64_t min_key_ = 0;    // exponential: key of the first positive bucket; kTable: key of cell 0
  int64_t last_ = 0;       // exponential: positive buckets (finite); kTable: key of the last cell
  int32_t shift_ = 0;      // exponential: max(schema, 0); kTable: log2 of a cell's keys
  uint16_t n_bounds_ = 0;  // kSearch: number of finite bounds
  Kind kind_ = kExponential;
  uint8_t stripe_mask_ = 0;     // stripes - 1 (a power of two); 0: not striped
  uint16_t stripe_stride_ = 0;  // slots from one stripe to the next
  uint8_t coarse_shift_ = 0;    // exponential: max(-schema, 0)
  uint64_t zero_bits_ = 0;      // exponential: the zero threshold's bits (|v| <= it: zero bucket)
};

// The clock of ScopedTimer and TimeCall.
enum class TimerClock : uint8_t {
  kTsc = 1,          // the CPU's time-stamp counter (RDTSC), its rate calibrated once per process
  kSteadyClock = 2,  // std::chrono::steady_clock, read through the vDSO
};

// Chooses and calibrates the timers' clock, once per process: the TSC on x86-64 where
// it is invariant (CPUID, or constant_tsc and nonstop_tsc in /proc/cpuinfo) and the
// kernel's clocksource is tsc (the kernel checked it is synchronised across CPUs),
// its tick rate measured against steady_clock over ~5 ms; steady_clock elsewhere, or
// when the environment has SHMSTATS_TIMER_CLOCK=steady_clock. The first ScopedTimer
// or TimeCall of a process calls it (before it reads its start time); call it at
// start-up to keep those milliseconds, and its system calls (it reads /proc and /sys
// and sleeps), off the first timed operation, e.g. before entering a seccomp sandbox.
// Thread-safe; later calls return at once.
TimerClock CalibrateTimerClock() noexcept;

// Makes timers use `clock` from now on (calibrating first if needed). Returns false,
// changing nothing, when `clock` is kTsc and the TSC is not usable here. A timer
// running across the switch observes a meaningless duration: switch before timing.
// Thread-safe.
bool SetTimerClock(TimerClock clock) noexcept;

namespace detail {

// Written by CalibrateTimerClock and SetTimerClock (libshm); read on the hot path.
struct TimerState {
  std::atomic<uint8_t> clock{0};   // 0 until calibrated, else a TimerClock
  double seconds_per_tick = 1e-9;  // written before clock is stored (release)
};
extern TimerState timer_state;

// Ticks of the timers' clock: TSC cycles, or steady_clock nanoseconds.
SHMSTATS_HOT uint64_t TimerTicks() noexcept {
  uint8_t clock = timer_state.clock.load(std::memory_order_acquire);
  if (clock == 0) [[unlikely]]
    clock = static_cast<uint8_t>(CalibrateTimerClock());
#if defined(__x86_64__)
  if (clock == static_cast<uint8_t>(TimerClock::kTsc)) return __builtin_ia32_rdtsc();
#endif
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

// Seconds between two TimerTicks() readings of one process.
SHMSTATS_HOT double TimerSeconds(uint64_t start, uint64_t end) noexcept {
  return static_cast<double>(static_cast<int64_t>(end - start)) * timer_state.seconds_per_tick;
}

}  // namespace detail

// Observes the seconds between its construction and its destruction into a
// histogram, read from the TSC or steady_clock (see CalibrateTimerClock): no system
// call once the clock is calibrated.
class ScopedTimer {
 public:
  SHMSTATS_HOT explicit ScopedTimer(const Histogram& h) noexcept
      : histogram_(h), start_(detail::TimerTicks()) {}
  SHMSTATS_HOT ~ScopedTimer() {
    histogram_.Observe(detail::TimerSeconds(start_, detail::TimerTicks()));
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram histogram_;
  uint64_t start_;
};

// Calls f(), observes its duration in seconds into `latency` whether it returns or
// throws, and counts a failure when it throws (the exception is rethrown).
template <class F>
decltype(auto) TimeCall(const Histogram& latency, const Counter& failures, F&& f) {
  ScopedTimer timer(latency);
  try {
    return std::forward<F>(f)();
  } catch (...) {
    failures.Inc();
    throw;
  }
}

}  // namespace shmstats
