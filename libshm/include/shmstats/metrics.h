#pragma once

// The recording hot path, all of it in this file. Every operation here is inline,
// noexcept and lock-free: relaxed atomics on slots of an already-mapped segment, no
// system call, allocation, lock, virtual call or exception. Handles are two to six
// words, cheap to copy, and safe to use from any number of threads and processes at
// once. A handle stays valid while the Segment that returned it lives. A
// default-constructed handle is unbound: it records into a private dummy slot and
// is never read.

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace shmstats {

class Segment;

namespace detail {

using Slot = std::atomic<uint64_t>;
static_assert(Slot::is_always_lock_free, "shared-memory slots need lock-free 64-bit atomics");
static_assert(sizeof(Slot) == 8 && alignof(Slot) == 8);

// Where unbound handles write: one histogram's worth of dummy slots per thread is
// not needed, since nothing reads them; sharing them is harmless.
inline Slot unbound_slots[2];

// Adds d to the double stored in s. A CAS loop: x86 has no atomic double add.
inline void AddDouble(Slot& s, double d) noexcept {
  uint64_t old = s.load(std::memory_order_relaxed);
  while (!s.compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + d),
                                  std::memory_order_relaxed)) {
  }
}

}  // namespace detail

// A monotonic 64-bit counter. Wraps at 2^64.
class Counter {
 public:
  Counter() noexcept : slot_(&detail::unbound_slots[0]) {}
  void Inc(uint64_t n = 1) const noexcept { slot_->fetch_add(n, std::memory_order_relaxed); }

 private:
  friend class Segment;
  explicit Counter(detail::Slot* slot) noexcept : slot_(slot) {}
  detail::Slot* slot_;
};

// A gauge holding a double: negative and fractional values are fine.
class Gauge {
 public:
  Gauge() noexcept : slot_(&detail::unbound_slots[0]) {}
  void Set(double v) const noexcept {
    slot_->store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
  }
  void Add(double d) const noexcept { detail::AddDouble(*slot_, d); }
  void Sub(double d) const noexcept { detail::AddDouble(*slot_, -d); }

 private:
  friend class Segment;
  explicit Gauge(detail::Slot* slot) noexcept : slot_(slot) {}
  detail::Slot* slot_;
};

// A histogram: one atomic count per bucket and an atomic sum; the total count is
// the sum of the buckets, so a reader always sees count == sum of buckets.
// Observe(NaN) is ignored: it carries no value and would poison the sum.
class Histogram {
 public:
  Histogram() noexcept : counts_(&detail::unbound_slots[0]), sum_(&detail::unbound_slots[1]) {}

  void Observe(double v) const noexcept {
    if (v != v) return;
    counts_[shift_ != 0 ? ExponentialIndex(v) : ExplicitIndex(v)].fetch_add(
        1, std::memory_order_relaxed);
    detail::AddDouble(*sum_, v);
  }

 private:
  friend class Segment;

  // First bound >= v, or n_bounds_ (+Inf). A binary search whose step is masked in
  // rather than chosen by ?:, which gcc turns into a jump that mispredicts on live
  // values; the only branches left depend on the number of bounds.
  size_t ExplicitIndex(double v) const noexcept {
    size_t n = n_bounds_;
    if (n == 0) return 0;
    size_t base = 0;
    while (n > 1) {
      size_t half = n / 2;
      base += half & (size_t{0} - static_cast<size_t>(Bound(bounds_[base + half - 1]) < v));
      n -= half;
    }
    return base + (Bound(bounds_[base]) < v);
  }

  static double Bound(const detail::Slot& s) noexcept {
    return std::bit_cast<double>(s.load(std::memory_order_relaxed));
  }

  // Bucket (lo, hi] from the bits of v: exponent and top mantissa bits. Positive
  // doubles order like their bit patterns; negatives and zero clamp to bucket 0.
  size_t ExponentialIndex(double v) const noexcept {
    int64_t bits = std::max<int64_t>(std::bit_cast<int64_t>(v), 0);
    int64_t i = ((bits - 1) >> shift_) - min_key_;
    return static_cast<size_t>(std::clamp<int64_t>(i, 0, last_));
  }

  detail::Slot* counts_;
  detail::Slot* sum_;
  const detail::Slot* bounds_ = nullptr;  // explicit: finite bounds, as double bits
  uint32_t n_bounds_ = 0;                 // explicit: number of finite bounds
  int32_t shift_ = 0;                     // exponential: 52 - precision_bits; 0 means explicit
  int64_t min_key_ = 0;                   // exponential: key of the first bucket
  int64_t last_ = 0;                      // exponential: index of the +Inf bucket
};

// Observes the seconds between its construction and its destruction into a
// histogram. Reads the clock through the vDSO (no system call on Linux x86-64 and
// arm64 with a TSC/arch-timer clocksource).
class ScopedTimer {
 public:
  explicit ScopedTimer(const Histogram& h) noexcept
      : histogram_(h), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    histogram_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram histogram_;
  std::chrono::steady_clock::time_point start_;
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
