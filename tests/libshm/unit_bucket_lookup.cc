// SPDX-License-Identifier: Apache-2.0
// Explicit buckets found through the lookup table (or, where no small table
// narrows enough, the search) choose exactly the bucket the reference binary
// search over the bounds chooses, for every kind of value: random bit patterns,
// the bounds themselves and their neighbours, ±0, ±inf, subnormals, extremes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "bucket_table.h"
#include "unit_fixture.h"

namespace shmstats {
namespace {

using testing_util::Spec;
using Limits = std::numeric_limits<double>;
constexpr double kInf = Limits::infinity();

// The reference: the first bound >= v, or bounds.size() (+Inf), by the masked
// binary search the hot path used before the table (commit ff888bf).
size_t ReferenceIndex(const std::vector<double>& bounds, double v) {
  size_t n = bounds.size(), base = 0;
  while (n > 1) {
    size_t half = n / 2;
    base += half & (size_t{0} - static_cast<size_t>(bounds[base + half - 1] < v));
    n -= half;
  }
  return base + (bounds[base] < v);
}

std::vector<double> Sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end(), [](double a, double b) { return a == b; }), v.end());
  return v;
}

// Bound sets: usual ones, adversarial ones, random ones.
std::vector<std::vector<double>> BoundSets() {
  std::vector<std::vector<double>> sets = {
      {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},  // Prometheus' defaults
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100},
      {10, 25, 50, 75, 90},
      {0},
      {-0.0},
      {-0.0, 1},
      {-1, 0},
      {-Limits::max(), Limits::max()},
      {-Limits::max(), -Limits::denorm_min(), 0, Limits::denorm_min(), Limits::max()},
      {Limits::denorm_min(), 2 * Limits::denorm_min(), Limits::min(), 1},
      {-1e300, -1e-300, 1e-300, 1e300},
  };
  std::vector<double> linear, linear10, tens, adjacent, negatives;
  for (int i = 1; i <= 100; ++i) linear.push_back(i);
  for (int i = 1; i <= 10; ++i) linear10.push_back(10 * i);
  for (int i = -300; i <= 300; i += 20) tens.push_back(std::pow(10.0, i));
  double x = 1;
  for (int i = 0; i < 40; ++i) adjacent.push_back(x = std::nextafter(x, kInf));
  for (int i = 50; i >= 1; --i) negatives.push_back(-i * 0.5);
  std::vector<double> many;  // too dense for a small table: the search path
  for (int i = 0; i < 3000; ++i) many.push_back(1000 + i);
  sets.insert(sets.end(), {linear, linear10, tens, adjacent, negatives, many});

  std::mt19937_64 rng(42);
  for (int s = 0; s < 120; ++s) {
    std::vector<double> b(1 + rng() % 64);
    int shape = s % 4;
    for (double& v : b) {
      if (shape == 0) {  // log-uniform positive
        v = std::exp(std::uniform_real_distribution<double>(-20, 20)(rng));
      } else if (shape == 1) {  // both signs around zero
        v = std::uniform_real_distribution<double>(-100, 100)(rng);
      } else if (shape == 2) {  // any finite double
        do v = std::bit_cast<double>(rng());
        while (!std::isfinite(v));
      } else {  // integers, often adjacent
        v = static_cast<double>(static_cast<int>(rng() % 200) - 50);
      }
    }
    sets.push_back(Sorted(b));
  }
  return sets;
}

// Values: every bound, its neighbours and its negation; specials; random bits.
std::vector<double> ValuesFor(const std::vector<double>& bounds, std::mt19937_64& rng) {
  std::vector<double> v = {0.0,
                           -0.0,
                           kInf,
                           -kInf,
                           Limits::max(),
                           -Limits::max(),
                           Limits::min(),
                           -Limits::min(),
                           Limits::denorm_min(),
                           -Limits::denorm_min(),
                           1,
                           -1};
  for (double b : bounds) {
    v.insert(v.end(), {b, -b, std::nextafter(b, kInf), std::nextafter(b, -kInf)});
    v.push_back(std::nextafter(std::nextafter(b, kInf), kInf));
  }
  for (int i = 0; i < 4000; ++i) {
    double r = std::bit_cast<double>(rng());
    if (!std::isnan(r)) v.push_back(r);
    v.push_back(std::uniform_real_distribution<double>(bounds.front() - 1, bounds.back() + 1)(rng));
  }
  return v;
}

class BucketLookupTest : public testing_util::SegmentFixture {
 protected:
  BucketLookupTest() { Recreate(testing_util::Options(256, 1 << 20)); }
};

TEST_F(BucketLookupTest, SameBucketAsTheReferenceSearchForEveryValue) {
  std::mt19937_64 rng(7);
  auto sets = BoundSets();
  size_t checked = 0;
  for (size_t s = 0; s < sets.size(); ++s) {
    const std::vector<double>& bounds = sets[s];
    Histogram h =
        segment_.RegisterHistogram(Spec("lookup_" + std::to_string(s)), ExplicitBuckets{bounds});
    for (double v : ValuesFor(bounds, rng)) {
      ASSERT_EQ(h.BucketIndex(v), ReferenceIndex(bounds, v))
          << "value " << v << " (bits " << std::hex << std::bit_cast<uint64_t>(v) << std::dec
          << "), bound set " << s << " of " << bounds.size() << " bounds";
      ++checked;
    }
  }
  EXPECT_GT(checked, sets.size() * 8000);
}

// The table is what the usual bucket sets get (two candidates at most), and the
// search what a set too dense for kMaxCells gets.
TEST_F(BucketLookupTest, UsualBoundsGetASmallTableDenseOnesTheSearch) {
  auto sets = BoundSets();
  for (size_t s = 0; s < 5; ++s) {
    auto table = buckets::MakeTable(sets[s]);
    ASSERT_TRUE(table) << "bound set " << s;
    EXPECT_LE(table->cells.size(), 64u) << "bound set " << s;
  }
  std::vector<double> many;
  for (int i = 0; i < 3000; ++i) many.push_back(1000 + i);
  EXPECT_FALSE(buckets::MakeTable(many));
}

TEST_F(BucketLookupTest, ObservationsLandInTheChosenBucketAndNaNIsIgnored) {
  const std::vector<double> bounds = {-1, -0.0, 1, 2.5};
  Histogram h = segment_.RegisterHistogram(Spec("signed"), ExplicitBuckets{bounds});
  for (double v : {-kInf, -1.0, -0.5, -0.0, 0.0, 1.0, 2.5, 3.0, kInf, Limits::quiet_NaN(),
                   -Limits::quiet_NaN()})
    h.Observe(v);
  // (..-1] holds -inf,-1; (-1,0] holds -0.5,-0,+0; (0,1] 1; (1,2.5] 2.5; +Inf 3,inf.
  EXPECT_EQ(Find("signed").histogram.counts, (std::vector<uint64_t>{2, 3, 1, 1, 2}));
}

}  // namespace
}  // namespace shmstats
