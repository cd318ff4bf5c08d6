// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "prom_peer.h"
#include "raw_shm.h"
#include "shmstats/shmstats.h"

namespace shmstats::bench {

// Values fed to Observe come from a precomputed array (so the random number
// generator is not measured), indexed with `i & kValueMask`. The array is long
// enough that the branch predictor cannot learn the sequence: with 4096 values or
// fewer it does, and a search that branches on the value looks several times
// cheaper than it is on live data (see docs/performance.md).
inline constexpr size_t kValueCount = size_t{1} << 16;
// A prefix the branch predictor does learn, for the reference row that shows it.
inline constexpr size_t kLearnableValueCount = 1024;
inline constexpr size_t kValueMask = kValueCount - 1;

// How many operations the benchmarks performed on each slot or metric, so that the
// run can prove it recorded into the segment (and not into an unbound handle).
struct Performed {
  std::atomic<uint64_t> floor{0};
  std::atomic<uint64_t> counter{0};
  std::atomic<uint64_t> explicit_observations{0};
  std::atomic<uint64_t> exponential_observations{0};
  std::atomic<uint64_t> timer_observations{0};
  std::atomic<uint64_t> striped_counter{0};
  std::atomic<uint64_t> striped_observations{0};
};

// Everything the benchmarks record into: the floor's raw mapping, a shmstats
// segment with one metric of each kind, created together and removed together, and
// the prometheus-cpp peer.
// Ownership: owns both shared-memory objects; the destructor unlinks them.
// Errors: the constructor throws shmstats::Error or std::system_error.
// Thread-safety: the handles and value arrays may be used from any thread.
struct BenchEnv {
  // Slots of `floor`: kFloorSlot for the raw fetch_add, kPairCountSlot and
  // kPairSumSlot (one cache line) for the raw "bucket + double sum" reference.
  static constexpr size_t kFloorSlot = 0;
  static constexpr size_t kPairCountSlot = 8;
  static constexpr size_t kPairSumSlot = 9;
  // The per-CPU floor: CPU c's word is slot kPerCpuSlot + 8 * (c % kPerCpuSlots),
  // each on its own cache line.
  static constexpr size_t kPerCpuSlot = 64;
  static constexpr size_t kPerCpuSlots = 256;
  // The observation's floor: [sum][bucket 0 ... kHistogramFloorBuckets - 1] from a
  // cache line's start, laid out as a histogram's slots in the segment.
  static constexpr size_t kHistogramFloorSlot = kPerCpuSlot + 8 * kPerCpuSlots;
  static constexpr size_t kHistogramFloorBuckets = 1024;  // 10 bits
  static constexpr size_t kFloorBytes = (kHistogramFloorSlot + 1 + kHistogramFloorBuckets) * 8;

  // `prefix` names both objects: <prefix> for the segment, <prefix>-floor for the
  // raw mapping. A stale pair with those names (a killed run) is replaced.
  explicit BenchEnv(const std::string& prefix);
  ~BenchEnv();
  BenchEnv(const BenchEnv&) = delete;
  BenchEnv& operator=(const BenchEnv&) = delete;

  // Prints what the segment and the floor hold against `performed`; returns true
  // when every total matches exactly.
  bool CheckTotals(std::ostream& out) const;

  RawShm floor;
  Segment segment;
  Counter counter;
  Gauge gauge;
  Histogram explicit_histogram;            // 16 Prometheus-style bounds, 0.001 .. 100
  Histogram exponential_histogram;         // 1e-6 .. 1e3, precision 3 (12.5%)
  Histogram timer_histogram;               // the same buckets, fed by ScopedTimer
  Counter striped_counter;                 // Striping::kPerCpu
  FloatCounter float_counter;              // a counter of doubles (CAS loop)
  Histogram striped_histogram;             // exponential buckets, Striping::kPerCpu
  std::vector<double> explicit_values;     // log-uniform over 5e-4 .. 200
  std::vector<double> exponential_values;  // log-uniform over 1e-6 .. 1e3
  // The exponential values, each with the index of its bucket in its 10 low mantissa
  // bits (a relative change below 1e-12): the observation floor reads the bucket where
  // Observe computes it, from one array of the same size.
  std::vector<double> exponential_floor_values;
  std::unique_ptr<PromPeer> prom;  // the same metrics in prometheus-cpp
  Performed performed;
};

// The environment the benchmark functions use; main sets it before running them.
void SetEnv(BenchEnv* env) noexcept;
// REQUIRES: SetEnv was called with a live environment.
BenchEnv& Env() noexcept;

}  // namespace shmstats::bench
