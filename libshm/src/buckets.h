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
  uint8_t precision_bits = 0;         // exponential
  int64_t min_key = 0;                // exponential
  std::vector<double> bounds;         // finite upper bounds; buckets = bounds.size() + 1
};

// Validates the request; throws Error(kInvalidArgument) saying what is wrong.
Layout Make(const Buckets& request);

// Bounds of an exponential layout with `bucket_count` buckets (including +Inf).
// Returns false if they would not be finite positive doubles.
bool ExponentialBounds(int precision_bits, int64_t min_key, uint32_t bucket_count,
                       std::vector<double>* bounds);

// Describes a layout for error messages, e.g. "exponential(p=3, 1e-06..1024)".
std::string Describe(const Layout& l);

}  // namespace shmstats::buckets
