// SPDX-License-Identifier: Apache-2.0
#include "bucket_table.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace shmstats::buckets {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// OrderedKey is its own inverse.
double FromKey(int64_t key) {
  return std::bit_cast<double>(key ^ static_cast<int64_t>(static_cast<uint64_t>(key >> 63) >> 1));
}

// Number of bounds strictly below v (v not NaN).
size_t Below(const std::vector<double>& bounds, double v) {
  return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
}

// Fills t's cells for its shift; false if a cell would have more than two
// candidates. Cell c holds keys [lo, hi]; cell 0 also takes every key below it
// and the last cell every key above it (Histogram::TableIndex clamps).
bool Fill(const std::vector<double>& bounds, uint64_t cells, Table* t) {
  const int64_t min_finite = OrderedKey(-kInf), max_finite = OrderedKey(kInf);
  const uint64_t width = uint64_t{1} << t->shift;
  t->cells.resize(cells);
  for (uint64_t c = 0; c < cells; ++c) {
    auto lo = static_cast<int64_t>(static_cast<uint64_t>(t->min_key) + c * width);
    auto hi = static_cast<int64_t>(static_cast<uint64_t>(lo) + (width - 1));
    // Keys beyond the infinities are NaNs: the cell's values lie between these.
    double lo_v = FromKey(std::max(lo, min_finite));
    double hi_v = FromKey(std::min(hi, max_finite));
    size_t first = Below(bounds, lo_v);
    size_t upto = c + 1 == cells ? bounds.size() : Below(bounds, hi_v);
    if (upto - first > 2) return false;
    detail::BucketCell& cell = t->cells[c];
    cell.first = first;
    for (size_t j = 0; j < 2; ++j)
      cell.candidate[j] = first + j < bounds.size() ? bounds[first + j] : kInf;
  }
  return true;
}

}  // namespace

double NativeSubBound(int schema, uint32_t j) {
  double x = std::ldexp(1.0, static_cast<int>(j));
  for (int k = 0; k < schema; ++k) x = std::sqrt(x);
  return x;
}

const uint64_t* NativeCells(int precision) {
  static const auto tables = [] {
    std::array<std::vector<uint64_t>, 9> t;
    constexpr uint64_t kMantissa = (uint64_t{1} << 52) - 1;
    for (int p = 0; p <= 8; ++p) {
      const uint32_t subs = 1u << p;
      std::vector<uint64_t> bound(subs + 1);  // mantissas of the sub-bucket bounds
      for (uint32_t j = 0; j < subs; ++j)
        bound[j] = std::bit_cast<uint64_t>(NativeSubBound(p, j)) & kMantissa;
      bound[subs] = uint64_t{1} << 52;
      const uint32_t cells = 2u << p;
      t[p].resize(cells);
      for (uint32_t c = 0; c < cells; ++c) {
        const uint64_t first = uint64_t{c} << (51 - p),
                       last = first + (uint64_t{1} << (51 - p)) - 1;
        uint32_t j = 0;
        while (j < subs && bound[j] < first) ++j;
        // One comparison suffices: the next bound lies beyond the cell (bounds are at
        // least 2^(1/2^p) - 1 > ln2/2^p apart, a cell 1/2^(p+1) wide).
        if (j < subs && bound[j + 1] < last) std::abort();
        t[p][c] = (bound[j] << 11) | j;
      }
    }
    return t;
  }();
  return tables[static_cast<size_t>(precision)].data();
}

int64_t NativeIndex(int schema, double v) {
  const int p = std::max(schema, 0);
  const uint64_t mag = std::bit_cast<uint64_t>(v) & ~(uint64_t{1} << 63);
  return detail::NativeKey(NativeCells(p), p, static_cast<unsigned>(std::max(-schema, 0)), mag) -
         (int64_t{1} << (10 + schema));  // the key of index 0 (v = 1)
}

double NativeBound(int schema, int64_t i) {
  if (schema <= 0) {
    const int64_t e = i << -schema;
    return e > 1023 ? kInf : e < -1074 ? 0.0 : std::ldexp(1.0, static_cast<int>(e));
  }
  const int64_t octave = i >> schema;  // floor
  if (octave > 1023) return kInf;
  if (octave < -1074) return 0.0;
  return std::ldexp(NativeSubBound(schema, static_cast<uint32_t>(i & ((int64_t{1} << schema) - 1))),
                    static_cast<int>(octave));
}

int64_t OrderedKey(double v) {
  int64_t bits = std::bit_cast<int64_t>(v);
  return bits ^ static_cast<int64_t>(static_cast<uint64_t>(bits >> 63) >> 1);
}

std::optional<Table> MakeTable(const std::vector<double>& bounds) {
  const int64_t first_key = OrderedKey(bounds.front()), last_key = OrderedKey(bounds.back());
  // Coarsest first: the first shift that works needs the fewest cells.
  for (int shift = 63; shift >= 0; --shift) {
    const int64_t c0 = first_key >> shift, c1 = last_key >> shift;
    const uint64_t cells = static_cast<uint64_t>(c1) - static_cast<uint64_t>(c0) + 1;
    if (cells > kMaxCells) break;  // finer shifts only need more
    Table t;
    t.shift = shift;
    t.min_key = static_cast<int64_t>(static_cast<uint64_t>(c0) << shift);
    t.last_key = static_cast<int64_t>(static_cast<uint64_t>(c1) << shift);
    if (Fill(bounds, cells, &t)) return t;
  }
  return std::nullopt;
}

const Table* Tables::Get(const std::vector<double>& bounds) {
  std::lock_guard lock(mutex_);
  auto it = tables_.find(bounds);
  if (it == tables_.end()) it = tables_.emplace(bounds, MakeTable(bounds)).first;
  return it->second ? &*it->second : nullptr;
}

}  // namespace shmstats::buckets
