// SPDX-License-Identifier: Apache-2.0
#pragma once

// An exponential histogram as a Prometheus native histogram: the sparse form that the
// protobuf exposition format (/metrics) and remote-write 1.0 both carry, made in one
// place so the two can never disagree.
//
// Buckets keep their native indexes (bucket i is (2^((i-1)*2^-schema), 2^(i*2^-schema)]
// for positive values, mirrored for negative ones), so nothing is re-binned. The two
// overflow buckets of the segment (beyond the range chosen at registration) have no
// native bound: their counts go to the next native bucket out (index last+1 of their
// sign), so every observation is counted and a quantile that falls there lies above
// the range, as the observation did.
//
// Spans and deltas follow the format: spans cover the non-empty buckets, joining
// runs separated by at most two empty buckets (which then carry a zero count); the
// first span's offset is its first bucket's index, a later span's the number of
// buckets skipped since the previous span; deltas are each bucket's count minus the
// previous bucket's of the same sign (the first one against 0).
//
// Thread-safety: plain functions. Errors: none.

#include <cstdint>
#include <vector>

#include "shmstats/snapshot.h"

namespace shmstats::daemon {

struct NativeSpan {
  int32_t offset = 0;
  uint32_t length = 0;
};

struct NativeHistogram {
  int32_t schema = 0;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  uint64_t count = 0;  // every observation: the zero bucket's and both signs' buckets
  double sum = 0;
  std::vector<NativeSpan> positive_spans, negative_spans;
  std::vector<int64_t> positive_deltas, negative_deltas;
};

// `h` as a native histogram, counts as they are in `h` (add reset totals first for
// cumulative ones). Requires h.exponential; a histogram with no buckets gives an
// empty one.
NativeHistogram ToNative(const HistogramValue& h);

}  // namespace shmstats::daemon
