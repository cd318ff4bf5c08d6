#include "buckets.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>

#include "shmstats/error.h"

namespace shmstats::buckets {
namespace {

[[noreturn]] void Invalid(const std::string& what) { throw Error(Errc::kInvalidArgument, what); }

// Same key as Histogram::ExponentialIndex: bucket (lo, hi] from the bits of v.
int64_t Key(double v, int shift) { return (std::bit_cast<int64_t>(v) - 1) >> shift; }

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
  if (e.precision_bits < 1 || e.precision_bits > 10)
    Invalid(fmt::format("precision_bits is {}; use 1 to 10", e.precision_bits));
  if (!(e.min > 0) || !std::isfinite(e.min) || !(e.max > e.min) || !std::isfinite(e.max))
    Invalid(fmt::format("exponential buckets need 0 < min < max, both finite (got {} and {})",
                        e.min, e.max));
  int shift = 52 - e.precision_bits;
  Layout l;
  l.kind = layout::kExponential;
  l.precision_bits = static_cast<uint8_t>(e.precision_bits);
  // The first bound is min rounded down to a bucket bound, so every value above min
  // lies in a bucket whose real lower edge is known (the documented error bound).
  l.min_key = (std::bit_cast<int64_t>(e.min) >> shift) - 1;
  if (l.min_key < 0) Invalid(fmt::format("exponential buckets: min {} is too small", e.min));
  uint64_t count = static_cast<uint64_t>(Key(e.max, shift) - l.min_key) + 2;
  if (count > kMaxBuckets)
    Invalid(
        fmt::format("exponential buckets {}..{} at precision {} need {} buckets; the limit is "
                    "{}: lower the precision or narrow the range",
                    e.min, e.max, e.precision_bits, count, kMaxBuckets));
  if (!ExponentialBounds(e.precision_bits, l.min_key, static_cast<uint32_t>(count), &l.bounds))
    Invalid("exponential bucket range overflows a double");
  return l;
}

}  // namespace

Layout Make(const Buckets& request) {
  if (auto* e = std::get_if<ExplicitBuckets>(&request)) return MakeExplicit(*e);
  return MakeExponential(std::get<ExponentialBuckets>(request));
}

bool ExponentialBounds(int precision_bits, int64_t min_key, uint32_t bucket_count,
                       std::vector<double>* bounds) {
  bounds->clear();
  if (precision_bits < 1 || precision_bits > 10 || bucket_count < 2) return false;
  int shift = 52 - precision_bits;
  const int64_t max_key = std::bit_cast<int64_t>(HUGE_VAL) >> shift;  // key of +Inf
  if (min_key < 0 || min_key > max_key - int64_t{bucket_count}) return false;
  for (uint32_t j = 0; j + 1 < bucket_count; ++j)
    bounds->push_back(std::bit_cast<double>((min_key + j + 1) << shift));
  return true;
}

std::string Describe(const Layout& l) {
  if (l.kind == layout::kExponential)
    return fmt::format("exponential buckets (precision {} bits, {} .. {})", l.precision_bits,
                       l.bounds.front(), l.bounds.back());
  return fmt::format("explicit buckets ({})", fmt::join(l.bounds, ", "));
}

}  // namespace shmstats::buckets
