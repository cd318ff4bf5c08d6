// Bucket math: which layouts are accepted, the relative-width bound of exponential
// buckets at every precision, and that Observe() puts each value in the bucket the
// Prometheus rule (first bound >= v) names, checked against an independent search.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

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
  for (int p : {0, 11, -1})
    EXPECT_THAT(Refused(ExponentialBuckets{.min = 1, .max = 2, .precision_bits = p}),
                HasSubstr("precision_bits"));
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{
           {0, 1}, {-1, 1}, {2, 1}, {1, 1}, {1, kInf}, {std::nan(""), 1}}) {
    SCOPED_TRACE(testing::Message() << lo << ".." << hi);
    EXPECT_THAT(Refused(ExponentialBuckets{.min = lo, .max = hi, .precision_bits = 3}),
                HasSubstr("0 < min < max"));
  }
  // 2^-100 .. 2^100 at 10 bits would need 200 * 1024 buckets.
  EXPECT_THAT(Refused(ExponentialBuckets{.min = 0x1p-100, .max = 0x1p100, .precision_bits = 10}),
              HasSubstr("lower the precision"));
}

TEST_F(BucketsTest, ExponentialBucketsHaveBoundedRelativeWidth) {
  struct Range {
    double min, max;
  };
  for (int p = 1; p <= 10; ++p) {
    // As wide as kMaxBuckets allows at this precision, and a range not on powers of 2.
    double binades = std::min(60.0, std::floor((kMaxBuckets - 2) / std::ldexp(1, p)));
    for (Range r : {Range{1e-6, 1e-6 * std::exp2(binades - 1)}, Range{0.75, 3.3}}) {
      SCOPED_TRACE(testing::Message() << "p=" << p << " " << r.min << ".." << r.max);
      HistogramValue h =
          Make(ExponentialBuckets{.min = r.min, .max = r.max, .precision_bits = p}).second;
      EXPECT_EQ(h.precision_bits, p);
      ASSERT_GE(h.bounds.size(), 2u);
      ASSERT_EQ(h.counts.size(), h.bounds.size() + 1);
      // min is rounded down to a bound, so values just above it have a known lower edge.
      EXPECT_LE(h.bounds.front(), r.min);
      EXPECT_GT(h.bounds.front() * (1 + std::ldexp(1, -p)), r.min);
      EXPECT_GE(h.bounds.back(), r.max);
      EXPECT_LT(h.bounds[h.bounds.size() - 2], r.max) << "no bucket wholly above max";
      const double limit = 1 + std::ldexp(1, -p);
      for (size_t i = 1; i < h.bounds.size(); ++i) {
        ASSERT_LT(h.bounds[i - 1], h.bounds[i]);
        ASSERT_LE(h.bounds[i], h.bounds[i - 1] * limit) << "bucket " << i;
      }
      // Each power of two inside the range is a bound, with 2^p buckets between.
      int e0 = std::ilogb(h.bounds.front()) + 1;
      auto at = [&](double v) { return std::find(h.bounds.begin(), h.bounds.end(), v); };
      auto first = at(std::ldexp(1, e0)), second = at(std::ldexp(1, e0 + 1));
      if (second != h.bounds.end()) {
        ASSERT_NE(first, h.bounds.end());
        EXPECT_EQ(second - first, 1 << p);
      }
    }
  }
}

TEST_F(BucketsTest, PowerOfTwoLimitsAreExactBounds) {
  HistogramValue h = Make(ExponentialBuckets{.min = 0.25, .max = 64, .precision_bits = 3}).second;
  EXPECT_EQ(h.bounds.front(), 0.25);
  EXPECT_EQ(h.bounds.back(), 64.0);
  EXPECT_EQ(h.bounds.size(), 8u * 8u + 1u);  // 8 binades of 8, plus the first bound
}

// Counts per bucket by the Prometheus rule, computed independently of the library.
std::vector<uint64_t> ReferenceCounts(const std::vector<double>& bounds,
                                      const std::vector<double>& values) {
  std::vector<uint64_t> counts(bounds.size() + 1);
  for (double v : values)
    ++counts[std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin()];
  return counts;
}

TEST_F(BucketsTest, ObserveUsesTheFirstBoundNotBelowTheValue) {
  std::mt19937_64 rng(20261121);
  for (int p : {1, 3, 5, 7, 10}) {
    SCOPED_TRACE(p);
    double lo = p == 10 ? 0.5 : 1e-3, hi = p == 10 ? 6.0 : 1e3;
    auto [histogram, empty] = Make(ExponentialBuckets{.min = lo, .max = hi, .precision_bits = p});
    std::vector<double> values;
    std::uniform_real_distribution<double> log_uniform(std::log(lo) - 1, std::log(hi) + 1);
    for (int i = 0; i < 20000; ++i) values.push_back(std::exp(log_uniform(rng)));
    // Values exactly on bounds, and one ulp either side of them.
    for (size_t i = 0; i < empty.bounds.size(); i += 1 + empty.bounds.size() / 300) {
      double b = empty.bounds[i];
      values.insert(values.end(), {b, std::nextafter(b, 0.0), std::nextafter(b, 1e308)});
    }
    values.insert(values.end(), {0.0, -1.0, 1e-300, 4.9e-324, 1e300});
    for (double v : values) histogram.Observe(v);
    HistogramValue h = Find("h" + std::to_string(next_ - 1)).histogram;
    EXPECT_EQ(h.counts, ReferenceCounts(h.bounds, values));
  }
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
