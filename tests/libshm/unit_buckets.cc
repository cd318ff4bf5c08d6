// SPDX-License-Identifier: Apache-2.0
// Bucket math: which layouts are accepted; that exponential buckets are the native
// schemas' (bounds, zero bucket, mirrored negatives) and Observe() counts each value
// in the bucket the definition names, checked against log2; that explicit buckets
// follow the Prometheus rule (first bound >= v), checked against a search.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "bucket_table.h"
#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::HasSubstr;
using testing_util::ErrorOf;
using testing_util::Spec;

class BucketsTest : public testing_util::SegmentFixture {
 protected:
  BucketsTest() {
    SegmentOptions o = testing_util::SmallOptions();
    o.max_slots = 1 << 17;
    Recreate(o);
  }

  // Registers a histogram under a fresh name and returns it with its empty snapshot.
  std::pair<Histogram, HistogramValue> Make(const Buckets& b) {
    std::string metric = "h" + std::to_string(next_++);
    Histogram h = segment_.RegisterHistogram(Spec(metric), b);
    return {h, Find(metric).histogram};
  }
  std::string Refused(const Buckets& b) {
    return ErrorOf([&] { segment_.RegisterHistogram(Spec("bad"), b); }, Errc::kInvalidArgument);
  }

  int next_ = 0;
};

TEST_F(BucketsTest, ExplicitBoundsMustBeFiniteAndIncreasing) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(Refused(ExplicitBuckets{}), HasSubstr("at least one"));
  EXPECT_THAT(Refused(ExplicitBuckets{{1, 2, 2}}), HasSubstr("increase"));
  EXPECT_THAT(Refused(ExplicitBuckets{{3, 2}}), HasSubstr("increase"));
  EXPECT_THAT(Refused(ExplicitBuckets{{1, kInf}}), HasSubstr("finite"));
  EXPECT_THAT(Refused(ExplicitBuckets{{-kInf, 1}}), HasSubstr("finite"));
  Refused(ExplicitBuckets{{1, std::numeric_limits<double>::quiet_NaN()}});
  std::vector<double> too_many(kMaxBuckets);
  for (size_t i = 0; i < too_many.size(); ++i) too_many[i] = static_cast<double>(i);
  EXPECT_THAT(Refused(ExplicitBuckets{too_many}), HasSubstr(std::to_string(kMaxBuckets)));
  too_many.pop_back();  // kMaxBuckets - 1 finite bounds + Inf: the most allowed
  EXPECT_EQ(Make(ExplicitBuckets{too_many}).second.counts.size(), kMaxBuckets);
  EXPECT_TRUE(segment_.Read().problems.empty());
}

TEST_F(BucketsTest, ExponentialParametersAreChecked) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (int s : {-5, 9, 100})
    EXPECT_THAT(Refused(ExponentialBuckets{.min = 1, .max = 2, .schema = s}), HasSubstr("schema"));
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{
           {0, 1}, {-1, 1}, {2, 1}, {1, 1}, {1, kInf}, {std::nan(""), 1}}) {
    SCOPED_TRACE(testing::Message() << lo << ".." << hi);
    EXPECT_THAT(Refused(ExponentialBuckets{.min = lo, .max = hi, .schema = 3}),
                HasSubstr("0 < min < max"));
  }
  for (double z : {0.0, -1.0, 0.95, std::nan("")})
    EXPECT_THAT(Refused(ExponentialBuckets{.min = 1, .max = 2, .schema = 3, .zero_threshold = z}),
                HasSubstr("zero_threshold"));
  // 2^-100 .. 2^100 at schema 8 would need 2 * 200 * 256 buckets.
  EXPECT_THAT(Refused(ExponentialBuckets{.min = 0x1p-100, .max = 0x1p100, .schema = 8}),
              HasSubstr("lower the schema"));
}

// The definition, independently of the library: bucket i's upper bound at schema s is
// 2^(i*2^-s), as the s-fold square root of 2^(i mod 2^s) times 2^floor(i/2^s).
double DefinedBound(int s, int64_t i) {
  if (s <= 0) return std::ldexp(1.0, static_cast<int>(i * (int64_t{1} << -s)));
  int64_t octave = i >= 0 ? i >> s : -((-i + (int64_t{1} << s) - 1) >> s);
  double x = std::ldexp(1.0, static_cast<int>(i - (octave << s)));
  for (int k = 0; k < s; ++k) x = std::sqrt(x);
  return std::ldexp(x, static_cast<int>(octave));
}

// The native index of v > 0 by log2: ceil(log2(v) * 2^s), decided against the
// defined bound where log2's rounding could put v on the wrong side of one.
int64_t DefinedIndex(int s, double v) {
  if (std::isinf(v)) return std::numeric_limits<int64_t>::max() / 2;  // beyond every bucket
  double x = std::log2(v) * std::ldexp(1.0, s);
  double near = std::round(x);
  if (std::abs(x - near) > 1e-6 * std::max(1.0, std::abs(x)))
    return static_cast<int64_t>(std::ceil(x));
  auto i = static_cast<int64_t>(near);
  return v <= DefinedBound(s, i) ? i : i + 1;
}

TEST_F(BucketsTest, ExponentialBoundsAreTheNativeSchemasMirrored) {
  for (int s = -4; s <= 8; ++s) {
    SCOPED_TRACE(testing::Message() << "schema " << s);
    double lo = s >= 6 ? 0.3 : 1e-6, hi = s >= 6 ? 7.0 : 6e4;
    HistogramValue h = Make(ExponentialBuckets{.min = lo, .max = hi, .schema = s}).second;
    ASSERT_TRUE(h.exponential);
    EXPECT_EQ(h.schema, s);
    EXPECT_EQ(h.zero_threshold, std::numeric_limits<double>::min());
    ASSERT_EQ(h.counts.size(), h.bounds.size() + 1);
    ASSERT_EQ(h.counts.size() % 2, 1u);
    const size_t n = (h.counts.size() - 3) / 2;
    EXPECT_EQ(h.bounds[n], -h.zero_threshold);
    EXPECT_EQ(h.bounds[n + 1], h.zero_threshold);
    for (size_t k = 0; k < n; ++k) {
      EXPECT_EQ(h.bounds[n + 2 + k], DefinedBound(s, h.first_index + static_cast<int64_t>(k)));
      EXPECT_EQ(h.bounds[n - 1 - k], -h.bounds[n + 2 + k]);
    }
    // The first positive bucket is the one below min's; the last is max's.
    EXPECT_EQ(h.first_index, DefinedIndex(s, lo) - 1);
    EXPECT_EQ(h.first_index + static_cast<int64_t>(n) - 1, DefinedIndex(s, hi));
    const double ratio = std::exp2(std::ldexp(1.0, -s));
    for (size_t k = 1; k < n; ++k)
      ASSERT_NEAR(h.bounds[n + 2 + k] / h.bounds[n + 1 + k], ratio, ratio * 1e-15) << k;
  }
}

TEST_F(BucketsTest, PowerOfTwoLimitsAreExactBounds) {
  HistogramValue h = Make(ExponentialBuckets{.min = 0.25, .max = 64, .schema = 3}).second;
  // Buckets -17 (below min's, -16) .. 48 (64 = 2^(48/8)): 66 a side.
  EXPECT_EQ(h.first_index, -17);
  EXPECT_EQ(h.bounds.size(), 2u * 66u + 2u);
  EXPECT_EQ(h.bounds[66 + 3], 0.25);
  EXPECT_EQ(h.bounds.back(), 64.0);
  EXPECT_EQ(h.bounds.front(), -64.0);
}

// The bucket Observe(v) must count v in, from the definition: the zero bucket for
// |v| <= zero_threshold; else v's native index clamped to the registered range
// (one past it: the +Inf bucket, or its mirror), mirrored by sign.
size_t DefinedBucket(const HistogramValue& h, double v) {
  const auto n = static_cast<int64_t>((h.counts.size() - 3) / 2);
  if (std::abs(v) <= h.zero_threshold) return static_cast<size_t>(n + 1);
  int64_t c = std::clamp<int64_t>(DefinedIndex(h.schema, std::abs(v)) - h.first_index, 0, n);
  return static_cast<size_t>(v > 0 ? n + 2 + c : n - c);
}

std::vector<uint64_t> DefinedCounts(const HistogramValue& h, const std::vector<double>& values) {
  std::vector<uint64_t> counts(h.counts.size());
  for (double v : values)
    if (!std::isnan(v)) ++counts[DefinedBucket(h, v)];
  return counts;
}

// For every schema: 100,000 random doubles (log-uniform over the range and two
// octaves beyond, either sign, zeros), every bound and its neighbouring doubles, and
// the edge cases land where the definition says.
TEST_F(BucketsTest, ObserveCountsEachValueInItsNativeBucket) {
  std::mt19937_64 rng(20261207);
  for (int s = -4; s <= 8; ++s) {
    SCOPED_TRACE(testing::Message() << "schema " << s);
    double lo = s >= 6 ? 0.3 : 1e-6, hi = s >= 6 ? 7.0 : 6e4;
    auto [histogram, empty] = Make(ExponentialBuckets{.min = lo, .max = hi, .schema = s});
    std::vector<double> values;
    std::uniform_real_distribution<double> log2_uniform(std::log2(lo) - 2, std::log2(hi) + 2);
    std::bernoulli_distribution negative(0.3), zero(0.02);
    for (int i = 0; i < 100000; ++i) {
      double v = zero(rng) ? 0.0 : std::exp2(log2_uniform(rng));
      values.push_back(negative(rng) ? -v : v);
    }
    for (double b : empty.bounds)
      values.insert(values.end(), {b, std::nextafter(b, -1e308), std::nextafter(b, 1e308)});
    constexpr double kInf = std::numeric_limits<double>::infinity();
    values.insert(values.end(), {0.0, -0.0, 1e-320, -1e-320, 1e300, -1e300, kInf, -kInf,
                                 std::numeric_limits<double>::max(), std::nan(""), 1.0, -1.0});
    for (double v : values) histogram.Observe(v);
    HistogramValue h = Find("h" + std::to_string(next_ - 1)).histogram;
    EXPECT_EQ(h.counts, DefinedCounts(h, values));
  }
}

// The index algorithm itself, over the whole range of normal doubles (no clamping):
// 100,000 random bit patterns per schema, and every power of two with its neighbours.
TEST(NativeIndexTest, MatchesTheDefinitionOverAllNormalDoubles) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> bits(uint64_t{1} << 52, (uint64_t{2047} << 52) - 1);
  for (int s = -4; s <= 8; ++s) {
    SCOPED_TRACE(testing::Message() << "schema " << s);
    for (int i = 0; i < 100000; ++i) {
      double v = std::bit_cast<double>(bits(rng));
      ASSERT_EQ(buckets::NativeIndex(s, v), DefinedIndex(s, v)) << v;
    }
    for (int e = -1022; e <= 1023; ++e) {
      double p = std::ldexp(1.0, e);
      ASSERT_EQ(buckets::NativeIndex(s, p), DefinedIndex(s, p)) << p;
      ASSERT_EQ(buckets::NativeIndex(s, std::nextafter(p, 0.0)),
                DefinedIndex(s, std::nextafter(p, 0.0)));
      ASSERT_EQ(buckets::NativeIndex(s, std::nextafter(p, 1e308)),
                DefinedIndex(s, std::nextafter(p, 1e308)));
    }
    // Every sub-bucket bound of the first octaves, exactly and one ulp above.
    for (int64_t i = -(int64_t{4} << std::max(s, 0)); i <= (int64_t{4} << std::max(s, 0)); ++i) {
      double b = DefinedBound(s, i);
      EXPECT_EQ(buckets::NativeIndex(s, b), i);
      EXPECT_EQ(buckets::NativeIndex(s, std::nextafter(b, 1e308)), i + 1);
      EXPECT_EQ(buckets::NativeBound(s, i), b);
    }
  }
}

// Counts per bucket by the Prometheus rule, computed independently of the library.
std::vector<uint64_t> ReferenceCounts(const std::vector<double>& bounds,
                                      const std::vector<double>& values) {
  std::vector<uint64_t> counts(bounds.size() + 1);
  for (double v : values)
    ++counts[std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin()];
  return counts;
}

TEST_F(BucketsTest, ExplicitObserveMatchesTheReferenceRule) {
  std::mt19937_64 rng(7);
  std::vector<double> bounds = {-5, -0.5, 0, 1e-9, 0.1, 0.25, 1, 2.5, 10, 1e6};
  auto [histogram, empty] = Make(ExplicitBuckets{bounds});
  std::vector<double> values(bounds);
  std::normal_distribution<double> normal(0, 10);
  for (int i = 0; i < 20000; ++i) values.push_back(normal(rng));
  for (double b : bounds)
    values.insert(values.end(), {std::nextafter(b, -1e308), std::nextafter(b, 1e308)});
  for (double v : values) histogram.Observe(v);
  HistogramValue h = Find("h0").histogram;
  EXPECT_EQ(h.bounds, bounds);
  EXPECT_EQ(h.counts, ReferenceCounts(bounds, values));
  EXPECT_EQ(h.count, values.size());
}

}  // namespace
}  // namespace shmstats
