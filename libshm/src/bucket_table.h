// SPDX-License-Identifier: Apache-2.0
#pragma once

// Lookup tables that find an explicit histogram's bucket without a search
// (Histogram::TableIndex), built at registration in process memory. Private to
// libshm.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "shmstats/metrics.h"

namespace shmstats::buckets {

// Native exponential buckets (Histogram::ExponentialIndex, docs/segment-format.md).
// The sub-bucket bounds of schema s > 0 within [1, 2]: Bound(s, j) = 2^(j/2^s) as the
// s-fold correctly rounded square root of 2^j, j = 0..2^s (exact at 1 and 2, and
// schema s-1's bounds are schema s's even ones).
double NativeSubBound(int schema, uint32_t j);
// The 2^(p+1) cells of precision p = max(schema, 0), built once per process (thread-
// safe): cell c covers mantissas [c, c+1) * 2^(51-p); its entry is
// (B << 11) | j, with j the number of sub-bucket bounds below the cell's first
// mantissa and B the mantissa of the j-th bound (2^52 for j = 2^p).
const uint64_t* NativeCells(int precision);
// The native bucket index of a finite v > 0, by the same algorithm as the hot path
// (a frexp-style exponent and the cells); for subnormals the index of the smallest
// normal's bucket at most. Valid for -4 <= schema <= 8.
int64_t NativeIndex(int schema, double v);
// The upper bound of native bucket i: 2^(i*2^-schema) as the doubles above define
// it; +Inf or 0 beyond the doubles' range.
double NativeBound(int schema, int64_t i);

// A value's key: its bits as a signed integer, with the magnitude bits of
// negatives flipped, so keys order like the doubles (-0.0 just below +0.0).
int64_t OrderedKey(double v);

struct Table {
  std::vector<detail::BucketCell> cells;
  int64_t min_key = 0;   // key of cell 0's first value
  int64_t last_key = 0;  // key of the last cell's first value
  int shift = 0;         // cell c holds keys min_key + c * 2^shift ...
};

// The table with the fewest cells (at most kMaxCells) in which every cell has at
// most two candidate bounds; nullopt when there is none (the caller searches).
// REQUIRES: bounds finite, strictly increasing, not empty.
inline constexpr size_t kMaxCells = 1024;
std::optional<Table> MakeTable(const std::vector<double>& bounds);

// Tables of one mapping, by bounds: series with the same bounds (and a series
// registered many times) share one; a reused descriptor never finds another
// series' table. Thread-safe; tables live as long as this object.
class Tables {
 public:
  // The table for these bounds, built on first use; nullptr when MakeTable finds none.
  const Table* Get(const std::vector<double>& bounds);

 private:
  std::mutex mutex_;
  std::map<std::vector<double>, std::optional<Table>> tables_;
};

}  // namespace shmstats::buckets
