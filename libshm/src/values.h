// SPDX-License-Identifier: Apache-2.0
#pragma once

// Where a validated descriptor's values are, and how to sum a value over its
// stripes. Private to libshm: shared by reader.cc (read, reset) and
// process_series.cc (folding a dead process's values into the aggregate).

#include <bit>
#include <cstdint>

#include "layout.h"

namespace shmstats::values {

// Where a validated descriptor's values are, and its key hash.
struct Located {
  uint32_t slot_offset = 0;
  uint64_t hash = 0;
  uint32_t stripes = 1;  // stripes to sum (1: not striped)
  uint32_t stride = 0;   // slots from one stripe to the next
  uint32_t reset = 0;    // first reset total, from slot_offset (counters, histograms)
  uint64_t life = 0;     // process scope: the life word the copy was taken under; 0: shared
  uint32_t process_pid = 0;
  uint64_t process_start = 0;
  uint32_t fold_target = 0;   // process scope: the aggregate's descriptor index + 1
  uint64_t gone = 0;          // shared: the deletion word the copy was taken under
  uint64_t exemplars = 0;     // shared series: the descriptor's exemplars word
  uint8_t gauge_combine = 0;  // gauges: Descriptor::gauge_combine, checked
};

// Where a descriptor's values are (its layout checked by the caller). The hash and
// the process fields are left for the caller.
inline Located Locate(const layout::Descriptor& d) {
  const uint32_t buckets = d.type == 3 ? d.bucket_count : 0;  // 3: MetricType::kHistogram
  Located where;
  where.slot_offset = d.slot_offset;
  where.stripes = layout::Striped(d.stripes) ? d.stripes : 1u;
  where.stride = layout::StripeStride(buckets);
  where.reset =
      buckets ? layout::HistogramResetBase(buckets, d.stripes) : layout::kCounterResetSlot;
  return where;
}

// The raw value of a counter or bucket: the sum of its stripes (mod 2^64), the
// slot at `at` in each.
inline uint64_t Raw(const layout::Slot* slots, const Located& where, uint32_t at) {
  uint64_t v = 0;
  for (uint32_t stripe = 0; stripe < where.stripes; ++stripe)
    v += slots[size_t{stripe} * where.stride + at].load(std::memory_order_relaxed);
  return v;
}

// The same for a histogram's sum (doubles).
inline double RawDouble(const layout::Slot* slots, const Located& where) {
  double v = 0;
  for (uint32_t stripe = 0; stripe < where.stripes; ++stripe)
    v +=
        std::bit_cast<double>(slots[size_t{stripe} * where.stride].load(std::memory_order_relaxed));
  return v;
}

}  // namespace shmstats::values
