#include "bucket_table.h"

#include <algorithm>
#include <bit>
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
