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
