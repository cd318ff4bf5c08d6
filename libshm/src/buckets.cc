// SPDX-License-Identifier: Apache-2.0
#include "buckets.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "bucket_table.h"
#include "shmstats/error.h"
#include "shmstats/snapshot.h"

namespace shmstats::buckets {
namespace {

[[noreturn]] void Invalid(const std::string& what) { throw Error(Errc::kInvalidArgument, what); }

Layout MakeExplicit(const ExplicitBuckets& e) {
  if (e.bounds.empty()) Invalid("explicit buckets need at least one finite bound");
  if (e.bounds.size() + 1 > kMaxBuckets)
    Invalid(fmt::format("{} buckets requested; the limit is {}", e.bounds.size() + 1, kMaxBuckets));
  for (size_t i = 0; i < e.bounds.size(); ++i) {
    if (!std::isfinite(e.bounds[i]))
      Invalid(fmt::format("bucket bound {} is {}; bounds must be finite (+Inf is implicit)", i,
                          e.bounds[i]));
    if (i > 0 && !(e.bounds[i - 1] < e.bounds[i]))
      Invalid(fmt::format("bucket bounds must increase strictly: {} then {}", e.bounds[i - 1],
                          e.bounds[i]));
  }
  Layout l;
  l.kind = layout::kExplicit;
  l.bounds = e.bounds;
  return l;
}

Layout MakeExponential(const ExponentialBuckets& e) {
  if (e.schema < -4 || e.schema > 8)
    Invalid(fmt::format("schema is {}; use -4 to 8 (2^schema buckets per power of two)", e.schema));
  if (!(e.min > 0) || !std::isfinite(e.min) || !(e.max > e.min) || !std::isfinite(e.max))
    Invalid(fmt::format("exponential buckets need 0 < min < max, both finite (got {} and {})",
                        e.min, e.max));
  Layout l;
  l.kind = layout::kExponential;
  l.schema = static_cast<int8_t>(e.schema);
  // The first positive bucket is the one below min's, so that every value from min
  // up lies in a bucket whose lower edge is a real bound (the documented error bound).
  l.first = NativeIndex(e.schema, e.min) - 1;
  const int64_t last = NativeIndex(e.schema, e.max);
  uint64_t count = 2 * static_cast<uint64_t>(last - l.first + 1) + 3;
  if (count > kMaxBuckets)
    Invalid(
        fmt::format("exponential buckets {}..{} at schema {} need {} buckets (negatives and zero "
                    "included); the limit is {}: lower the schema or narrow the range",
                    e.min, e.max, e.schema, count, kMaxBuckets));
  const double first_bound = NativeBound(e.schema, l.first);
  if (!(first_bound >= std::numeric_limits<double>::min()))
    Invalid(fmt::format("exponential buckets: min {} is too small at schema {}", e.min, e.schema));
  if (!(e.zero_threshold > 0 && e.zero_threshold < first_bound))
    Invalid(
        fmt::format("zero_threshold is {}; it must be above 0 and below the first bucket "
                    "bound {} (min's bucket's lower bound)",
                    e.zero_threshold, first_bound));
  if (!ExponentialBounds(e.schema, l.first, static_cast<uint32_t>(count), e.zero_threshold,
                         &l.bounds))
    Invalid("exponential bucket range overflows a double");
  return l;
}

}  // namespace

Layout Make(const Buckets& request) {
  if (auto* e = std::get_if<ExplicitBuckets>(&request)) return MakeExplicit(*e);
  return MakeExponential(std::get<ExponentialBuckets>(request));
}

bool ExponentialBounds(int schema, int64_t first, uint32_t bucket_count, double zero_threshold,
                       std::vector<double>* bounds) {
  bounds->clear();
  if (schema < -4 || schema > 8 || bucket_count < 5 || bucket_count % 2 == 0 ||
      bucket_count > kMaxBuckets || first < -(int64_t{1100} << 8) || first > (int64_t{1100} << 8))
    return false;
  const uint32_t n = (bucket_count - 3) / 2;
  bounds->resize(bucket_count - 1);
  for (uint32_t k = 0; k < n; ++k) {
    const double b = NativeBound(schema, first + k);
    if (!std::isfinite(b) || !(b >= std::numeric_limits<double>::min())) return false;
    (*bounds)[n + 2 + k] = b;
    (*bounds)[n - 1 - k] = -b;
  }
  (*bounds)[n] = -zero_threshold;
  (*bounds)[n + 1] = zero_threshold;
  return zero_threshold > 0 && zero_threshold < (*bounds)[n + 2];
}

std::string Describe(const Layout& l) {
  if (l.kind == layout::kExponential)
    return fmt::format("exponential buckets (schema {}, {} .. {}, zero threshold {})", l.schema,
                       l.bounds[l.bounds.size() / 2 + 1], l.bounds.back(),
                       l.bounds[l.bounds.size() / 2]);
  return fmt::format("explicit buckets ({})", fmt::join(l.bounds, ", "));
}

}  // namespace shmstats::buckets

namespace shmstats {

int32_t LayoutWord(const HistogramValue& h) noexcept { return h.exponential ? 128 + h.schema : 0; }

bool ApplyLayoutWord(HistogramValue& h, int32_t word) {
  h.exponential = false;
  const int schema = word - 128;
  const size_t n_bounds = h.bounds.size();
  if (schema < -4 || schema > 8 || n_bounds < 4 || n_bounds % 2 != 0) return false;
  const size_t n = (n_bounds - 2) / 2;
  const double zero_threshold = h.bounds[n + 1];
  if (!(h.bounds[n + 2] > 0) || !std::isfinite(h.bounds[n + 2])) return false;
  const int64_t first = buckets::NativeIndex(schema, h.bounds[n + 2]);
  std::vector<double> expected;
  if (!buckets::ExponentialBounds(schema, first, static_cast<uint32_t>(n_bounds + 1),
                                  zero_threshold, &expected) ||
      expected != h.bounds)
    return false;
  h.exponential = true;
  h.schema = schema;
  h.first_index = first;
  h.zero_threshold = zero_threshold;
  return true;
}

}  // namespace shmstats
