// SPDX-License-Identifier: Apache-2.0
// Quantile(): against exact nearest-rank percentiles of generated samples from three
// distributions (within 2^(2^-schema) - 1 for exponential buckets, of either sign;
// within the width of the bucket holding the exact value for explicit ones), and its
// edge cases.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using testing_util::Spec;

constexpr int kSamples = 100000;
constexpr double kQs[] = {0.01, 0.25, 0.5, 0.9, 0.99, 0.999};

struct Distribution {
  const char* name;
  std::function<double(std::mt19937_64&)> draw;
};

std::vector<Distribution> Distributions() {
  return {
      {"uniform",
       [](std::mt19937_64& rng) { return std::uniform_real_distribution<double>(1, 1000)(rng); }},
      {"lognormal",
       [](std::mt19937_64& rng) { return std::lognormal_distribution<double>(3, 1)(rng); }},
      {"bimodal",
       [](std::mt19937_64& rng) {
         bool low = std::bernoulli_distribution(0.6)(rng);
         return low ? std::normal_distribution<double>(50, 5)(rng)
                    : std::normal_distribution<double>(3000, 300)(rng);
       }},
  };
}

// kSamples draws with a fixed seed, sorted.
std::vector<double> Samples(const Distribution& d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(kSamples);
  for (double& x : v) x = d.draw(rng);
  std::sort(v.begin(), v.end());
  return v;
}

// The nearest-rank q-quantile: the smallest sample with at least q*n samples <= it.
double ExactQuantile(const std::vector<double>& sorted, double q) {
  auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * static_cast<double>(sorted.size()))));
  return sorted[rank - 1];
}

class QuantileTest : public testing_util::SegmentFixture {
 protected:
  QuantileTest() {
    SegmentOptions o = testing_util::SmallOptions();
    o.max_slots = 1 << 20;
    o.max_metrics = 256;
    Recreate(o);
  }

  HistogramValue Record(const Buckets& b, const std::vector<double>& samples) {
    std::string metric = "q" + std::to_string(next_++);
    Histogram h = segment_.RegisterHistogram(Spec(metric), b);
    for (double v : samples) h.Observe(v);
    HistogramValue hv = Find(metric).histogram;
    EXPECT_EQ(hv.count, samples.size());
    return hv;
  }

  int next_ = 0;
};

// The documented bound of exponential buckets at schema s: 2^(2^-s) - 1.
double Bound(int schema) { return std::exp2(std::ldexp(1.0, -schema)) - 1; }

TEST_F(QuantileTest, ExponentialWithinTheDocumentedRelativeError) {
  uint64_t seed = 1;
  for (const Distribution& d : Distributions()) {
    std::vector<double> samples = Samples(d, seed++);
    std::vector<double> negated(samples.rbegin(), samples.rend());
    for (double& v : negated) v = -v;
    // The precisions of the log-linear buckets before (2, 4, 6, 8 bits: 2^p buckets per
    // power of two) are the schemas of the same resolution; and coarser ones.
    for (int s : {-4, -2, 0, 2, 4, 6, 8}) {
      // Powers of two, 15 binades: 7683 buckets at schema 8, negatives included.
      ExponentialBuckets b{.min = 0x1p-2, .max = 0x1p13, .schema = s};
      for (const std::vector<double>* values : {&samples, &negated}) {
        SCOPED_TRACE(testing::Message()
                     << d.name << " schema=" << s << (values == &negated ? " negated" : ""));
        HistogramValue h = Record(b, *values);
        for (double q : kQs) {
          double exact = ExactQuantile(*values, q);
          ASSERT_GE(std::abs(exact), b.min);
          ASSERT_LE(std::abs(exact), b.max);
          double estimate = Quantile(h, q);
          EXPECT_LE(std::abs(estimate - exact), std::abs(exact) * Bound(s) * (1 + 1e-12))
              << "q=" << q << " exact=" << exact << " estimate=" << estimate;
        }
      }
    }
  }
}

TEST_F(QuantileTest, FinestSchemaWithinItsBound) {
  Distribution uniform{"uniform", [](std::mt19937_64& rng) {
                         return std::uniform_real_distribution<double>(300, 2000)(rng);
                       }};
  std::vector<double> samples = Samples(uniform, 99);
  HistogramValue h = Record(ExponentialBuckets{.min = 256, .max = 2048, .schema = 8}, samples);
  for (double q : kQs) {
    double exact = ExactQuantile(samples, q);
    EXPECT_LE(std::abs(Quantile(h, q) - exact), exact * Bound(8) * (1 + 1e-12)) << q;
  }
}

TEST_F(QuantileTest, BoundHoldsJustAboveAMinThatIsNotABucketBound) {
  // The default min (1e-6) is not a bucket bound. The documented bound covers every
  // exact quantile inside [min, max], so also values just above min.
  ExponentialBuckets b{.min = 1e-6, .max = 1e4, .schema = 3};
  std::vector<double> samples;
  for (int i = 0; i < 1000; ++i) samples.push_back(1e-6 + i * 5e-11);  // [1e-6, 1.05e-6)
  HistogramValue h = Record(b, samples);
  const size_t n = (h.counts.size() - 3) / 2;
  EXPECT_LT(h.bounds[n + 2], b.min) << "the first positive bucket lies below min's";
  for (double q : kQs) {
    double exact = ExactQuantile(samples, q);
    EXPECT_LE(std::abs(Quantile(h, q) - exact), exact * Bound(3)) << "q=" << q;
  }
}

TEST_F(QuantileTest, ZeroObservationsGiveZeroWithinTheZeroThreshold) {
  std::vector<double> samples(100, 0.0);
  HistogramValue h = Record(ExponentialBuckets{}, samples);
  for (double q : kQs) EXPECT_LE(std::abs(Quantile(h, q)), std::numeric_limits<double>::min()) << q;
}

TEST_F(QuantileTest, ExplicitWithinTheWidthOfTheExactValuesBucket) {
  const std::vector<double> bounds = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  uint64_t seed = 11;
  for (const Distribution& d : Distributions()) {
    SCOPED_TRACE(d.name);
    std::vector<double> samples = Samples(d, seed++);
    ASSERT_LE(samples.back(), bounds.back());
    HistogramValue h = Record(ExplicitBuckets{bounds}, samples);
    for (double q : kQs) {
      double exact = ExactQuantile(samples, q);
      size_t i = std::lower_bound(bounds.begin(), bounds.end(), exact) - bounds.begin();
      double width = bounds[i] - (i == 0 ? 0.0 : bounds[i - 1]);
      double estimate = Quantile(h, q);
      EXPECT_LE(std::abs(estimate - exact), width) << "q=" << q << " exact=" << exact;
      EXPECT_GT(estimate, i == 0 ? 0.0 : bounds[i - 1]);
      EXPECT_LE(estimate, bounds[i]);
    }
  }
}

HistogramValue Value(std::vector<double> bounds, std::vector<uint64_t> counts) {
  HistogramValue h;
  h.bounds = std::move(bounds);
  h.counts = std::move(counts);
  for (uint64_t c : h.counts) h.count += c;
  return h;
}

TEST(QuantileEdgeTest, EmptyOrBadQIsNaN) {
  EXPECT_TRUE(std::isnan(Quantile(Value({1, 2}, {0, 0, 0}), 0.5)));
  EXPECT_TRUE(std::isnan(Quantile(HistogramValue{}, 0.5)));
  HistogramValue h = Value({1, 2}, {1, 2, 3});
  for (double q : {-0.01, 1.01, -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()})
    EXPECT_TRUE(std::isnan(Quantile(h, q))) << q;
  EXPECT_FALSE(std::isnan(Quantile(h, 0)));
  EXPECT_FALSE(std::isnan(Quantile(h, 1)));
}

TEST(QuantileEdgeTest, MalformedValueIsNaN) {
  HistogramValue h = Value({1, 2}, {1, 2});  // counts.size() != bounds.size() + 1
  EXPECT_TRUE(std::isnan(Quantile(h, 0.5)));
}

TEST(QuantileEdgeTest, RankInInfBucketIsTheLastFiniteBound) {
  EXPECT_EQ(Quantile(Value({1, 2, 4}, {0, 0, 0, 10}), 0.5), 4.0);
  EXPECT_EQ(Quantile(Value({1, 2, 4}, {5, 0, 0, 5}), 0.99), 4.0);
  EXPECT_EQ(Quantile(Value({1, 2, 4}, {5, 0, 0, 5}), 0.5), 1.0);
}

TEST(QuantileEdgeTest, InterpolatesLinearlyWithinTheBucket) {
  HistogramValue h = Value({10, 20}, {0, 4, 0});
  EXPECT_DOUBLE_EQ(Quantile(h, 0.25), 12.5);
  EXPECT_DOUBLE_EQ(Quantile(h, 0.5), 15.0);
  EXPECT_DOUBLE_EQ(Quantile(h, 1.0), 20.0);
  EXPECT_DOUBLE_EQ(Quantile(h, 0.0), 10.0) << "q = 0: lower edge of the first non-empty bucket";
}

TEST(QuantileEdgeTest, MatchesHistogramQuantileOnASingleObservation) {
  // histogram_quantile(0.5) of one observation in (0.1, 1] is 0.55, not the bound.
  EXPECT_DOUBLE_EQ(Quantile(Value({0.1, 1}, {0, 1, 0}), 0.5), 0.55);
}

TEST(QuantileEdgeTest, FirstBucketStartsAtZeroWhenPositive) {
  EXPECT_DOUBLE_EQ(Quantile(Value({8, 16}, {4, 0, 0}), 0.5), 4.0);
  // A first bucket with a bound <= 0 has no lower edge: its bound is returned.
  EXPECT_DOUBLE_EQ(Quantile(Value({-2, 0}, {4, 0, 0}), 0.5), -2.0);
  EXPECT_DOUBLE_EQ(Quantile(Value({-2, 0}, {0, 4, 0}), 0.5), -1.0);
}

TEST(QuantileEdgeTest, IsMonotonicInQ) {
  HistogramValue h = Value({1, 2, 3, 4, 5}, {3, 0, 7, 1, 0, 2});
  double last = -1;
  for (int i = 0; i <= 1000; ++i) {
    double v = Quantile(h, i / 1000.0);
    EXPECT_GE(v, last) << i;
    last = v;
  }
}

}  // namespace
}  // namespace shmstats
