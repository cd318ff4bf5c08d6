// SPDX-License-Identifier: Apache-2.0
#pragma once

// Histogram bucket layouts: validation of what a caller asks for, and the bounds an
// exponential layout implies. Private to libshm.

#include <cstdint>
#include <string>
#include <vector>

#include "layout.h"
#include "shmstats/metric_spec.h"

namespace shmstats::buckets {

struct Layout {
  uint8_t kind = layout::kNoBuckets;  // layout::BucketKind
  int8_t schema = 0;                  // exponential
  int64_t first = 0;                  // exponential: native index of the first positive bucket
  std::vector<double> bounds;         // finite upper bounds; buckets = bounds.size() + 1
};

// Validates the request; throws Error(kInvalidArgument) saying what is wrong.
Layout Make(const Buckets& request);

// The finite bounds of an exponential layout with `bucket_count` buckets (2n + 3 for n
// positive buckets from native index `first`), in bucket order:
//   -b(first+n-1) ... -b(first), -zero_threshold, zero_threshold, b(first) ... b(first+n-1)
// with b = NativeBound(schema, .). Returns false if they would not be finite,
// normal and strictly increasing.
bool ExponentialBounds(int schema, int64_t first, uint32_t bucket_count, double zero_threshold,
                       std::vector<double>* bounds);

// Describes a layout for error messages, e.g. "exponential buckets (schema 3, ...)".
std::string Describe(const Layout& l);

}  // namespace shmstats::buckets
