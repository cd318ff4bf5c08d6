// SPDX-License-Identifier: Apache-2.0
// Recording semantics of counters, gauges, histograms (explicit and exponential
// buckets), timers and unbound handles, as seen by a reader.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::ElementsAre;
using testing_util::Spec;
using RecordingTest = testing_util::SegmentFixture;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

uint64_t SumOfBuckets(const HistogramValue& h) {
  return std::accumulate(h.counts.begin(), h.counts.end(), uint64_t{0});
}

TEST_F(RecordingTest, CounterIncAddsAndWrapsAt2To64) {
  Counter c = segment_.RegisterCounter(Spec("events_total"));
  c.Inc();
  c.Inc(41);
  c.Inc(0);
  EXPECT_EQ(Find("events_total").counter, 42u);
  c.Inc(std::numeric_limits<uint64_t>::max());  // 42 + 2^64 - 1 wraps to 41
  EXPECT_EQ(Find("events_total").counter, 41u);
}

TEST_F(RecordingTest, GaugeIsSignedAndFractional) {
  Gauge g = segment_.RegisterGauge(Spec("balance"));
  EXPECT_EQ(Find("balance").gauge, 0.0);
  g.Set(0);
  g.Sub(1);
  EXPECT_EQ(Find("balance").gauge, -1.0) << "no unsigned underflow";
  g.Set(-2.5);
  g.Add(0.25);
  EXPECT_EQ(Find("balance").gauge, -2.25);
  g.Sub(-0.75);
  EXPECT_EQ(Find("balance").gauge, -1.5);
  g.Set(1e300);
  g.Add(1e300);
  EXPECT_EQ(Find("balance").gauge, 2e300);
  g.Set(0.1);
  g.Add(0.2);
  EXPECT_EQ(Find("balance").gauge, 0.1 + 0.2);
  g.Set(-kInf);
  EXPECT_EQ(Find("balance").gauge, -kInf);
  g.Set(kNaN);
  EXPECT_TRUE(std::isnan(Find("balance").gauge));
}

TEST_F(RecordingTest, ExplicitBucketsCountValuesOnTheirBound) {
  Histogram h = segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{1, 2, 5}});
  for (double v : {1.0, 0.5, -3.0, 2.0, 1.5, 5.0, 5.0000001, 1e9, kInf, kNaN}) h.Observe(v);
  HistogramValue hv = Find("latency").histogram;
  EXPECT_THAT(hv.bounds, ElementsAre(1, 2, 5));
  // (-inf,1]: 1, 0.5, -3   (1,2]: 2, 1.5   (2,5]: 5   +Inf: 5.0000001, 1e9, inf
  EXPECT_THAT(hv.counts, ElementsAre(3, 2, 1, 3));
  EXPECT_EQ(hv.count, 9u) << "NaN is ignored";
  EXPECT_EQ(hv.count, SumOfBuckets(hv));
  EXPECT_EQ(hv.sum, kInf);
  EXPECT_FALSE(hv.exponential);
}

TEST_F(RecordingTest, ExplicitBucketsSumIsExact) {
  Histogram h = segment_.RegisterHistogram(Spec("sizes"), ExplicitBuckets{{-1, 0, 0.5}});
  double sum = 0;
  for (double v : {-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 0.75}) {
    h.Observe(v);
    sum += v;
  }
  HistogramValue hv = Find("sizes").histogram;
  EXPECT_THAT(hv.counts, ElementsAre(2, 2, 2, 1));
  EXPECT_EQ(hv.sum, sum);
  EXPECT_EQ(hv.count, 7u);
}

TEST_F(RecordingTest, SingleBoundHistogram) {
  Histogram h = segment_.RegisterHistogram(Spec("one"), ExplicitBuckets{{0}});
  for (double v : {-1.0, 0.0, -0.0, 1e-300, 3.0}) h.Observe(v);
  EXPECT_THAT(Find("one").histogram.counts, ElementsAre(3, 2));
}

TEST_F(RecordingTest, ExponentialBucketsFollowTheDocumentedRule) {
  // Schema 0: bucket i is (2^(i-1), 2^i]. min 2 is in bucket 1, so the positive
  // buckets are 0 (the one below min's) .. 3 (max 8's), mirrored for negatives.
  Histogram h =
      segment_.RegisterHistogram(Spec("exp"), ExponentialBuckets{.min = 2, .max = 8, .schema = 0});
  HistogramValue empty = Find("exp").histogram;
  const double z = std::numeric_limits<double>::min();
  EXPECT_THAT(empty.bounds, ElementsAre(-8, -4, -2, -1, -z, z, 1, 2, 4, 8));
  EXPECT_TRUE(empty.exponential);
  EXPECT_EQ(empty.schema, 0);
  EXPECT_EQ(empty.first_index, 0);
  ASSERT_EQ(empty.counts.size(), 11u);

  for (double v : {2.0, 1.3, 4.0, 3.9, 8.0}) h.Observe(v);  // (1,2] (1,2] (2,4] (2,4] (4,8]
  for (double v : {0.5, 1.0}) h.Observe(v);               // (z, 1]: bucket 0 and what lies below it
  for (double v : {0.0, -0.0, 1e-310}) h.Observe(v);      // |v| <= z: the zero bucket
  for (double v : {8.000001, 1e300, kInf}) h.Observe(v);  // above max's bucket: +Inf
  for (double v : {-7.0, -8.0}) h.Observe(v);             // [-8, -4): -8 is on its bucket's bound
  h.Observe(-1.5);                                        // [-2, -1)
  for (double v : {-1.0, -0.1}) h.Observe(v);             // [-1, -z): bucket 0 and below it
  for (double v : {-9.0, -kInf}) h.Observe(v);            // below -8: the mirrored overflow
  h.Observe(kNaN);                                        // ignored
  HistogramValue hv = Find("exp").histogram;
  EXPECT_THAT(hv.counts, ElementsAre(2, 2, 0, 1, 2, 3, 2, 2, 2, 1, 3));
  EXPECT_EQ(hv.count, 20u);
  EXPECT_EQ(hv.count, SumOfBuckets(hv));
}

TEST_F(RecordingTest, ExponentialSumIsTheSumOfFiniteObservations) {
  Histogram h = segment_.RegisterHistogram(Spec("exp"), ExponentialBuckets{.min = 1e-4, .max = 10});
  double sum = 0;
  for (int i = 1; i <= 1000; ++i) {
    double v = i * 0.001;
    h.Observe(v);
    sum += v;
  }
  HistogramValue hv = Find("exp").histogram;
  EXPECT_EQ(hv.count, 1000u);
  EXPECT_DOUBLE_EQ(hv.sum, sum);
}

TEST_F(RecordingTest, ScopedTimerObservesElapsedSeconds) {
  Histogram h = segment_.RegisterHistogram(Spec("t"), ExplicitBuckets{{0.001, 1000}});
  {
    ScopedTimer timer(h);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  HistogramValue hv = Find("t").histogram;
  EXPECT_EQ(hv.count, 1u);
  // steady_clock is monotonic: at least the 2 ms slept have elapsed.
  EXPECT_GE(hv.sum, 0.002);
  EXPECT_THAT(hv.counts, ElementsAre(0, 1, 0));
}

TEST_F(RecordingTest, TimeCallObservesAndRethrows) {
  Histogram latency =
      segment_.RegisterHistogram(Spec("call_seconds"), ExponentialBuckets{.min = 1e-6, .max = 1});
  Counter failures = segment_.RegisterCounter(Spec("call_failures_total"));

  EXPECT_EQ(TimeCall(latency, failures, [] { return 7; }), 7);
  int target = 0;
  int& ref = TimeCall(latency, failures, [&]() -> int& { return target; });
  EXPECT_EQ(&ref, &target) << "references pass through";
  TimeCall(latency, failures, [] {});
  EXPECT_EQ(Find("call_failures_total").counter, 0u);

  EXPECT_THROW(TimeCall(latency, failures, []() -> int { throw std::out_of_range("boom"); }),
               std::out_of_range);
  try {
    TimeCall(latency, failures, [] { throw 42; });
  } catch (int e) {
    EXPECT_EQ(e, 42);
  }
  EXPECT_EQ(Find("call_failures_total").counter, 2u);
  HistogramValue hv = Find("call_seconds").histogram;
  EXPECT_EQ(hv.count, 5u) << "observed on return and on throw";
  EXPECT_GE(hv.sum, 0.0);
}

TEST_F(RecordingTest, UnboundHandlesAreHarmless) {
  Counter c;
  Gauge g;
  Histogram h;
  c.Inc(5);
  g.Set(1);
  g.Sub(3);
  h.Observe(1.5);
  h.Observe(kNaN);
  { ScopedTimer timer(h); }
  EXPECT_EQ(TimeCall(h, c, [] { return 1; }), 1);
  EXPECT_THROW(TimeCall(h, c, [] { throw std::runtime_error("x"); }), std::runtime_error);
  EXPECT_TRUE(segment_.Read().metrics.empty());

  // Copies of bound handles stay bound; assigning an unbound one unbinds.
  Counter bound = segment_.RegisterCounter(Spec("bound_total"));
  Counter copy = bound;
  copy.Inc(2);
  copy = Counter();
  copy.Inc(100);
  EXPECT_EQ(Find("bound_total").counter, 2u);
}

TEST_F(RecordingTest, ConcurrentThreadsLoseNothing) {
  Counter c = segment_.RegisterCounter(Spec("n_total"));
  Gauge g = segment_.RegisterGauge(Spec("g"));
  Histogram h = segment_.RegisterHistogram(Spec("h"), ExplicitBuckets{{1, 2}});
  constexpr int kPerThread = 100000;
  double per_thread_sum = 0;
  for (int i = 0; i < kPerThread; ++i) per_thread_sum += i % 3;
  auto work = [&] {
    for (int i = 0; i < kPerThread; ++i) {
      c.Inc();
      g.Add(1);
      h.Observe(static_cast<double>(i % 3));  // 0, 1, 2: integer sums are exact
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(Find("n_total").counter, 2u * kPerThread);
  EXPECT_EQ(Find("g").gauge, 2.0 * kPerThread);
  HistogramValue hv = Find("h").histogram;
  EXPECT_EQ(hv.count, 2u * kPerThread);
  EXPECT_EQ(hv.count, SumOfBuckets(hv));
  EXPECT_EQ(hv.counts[2], 0u);
  EXPECT_EQ(hv.sum, 2 * per_thread_sum);
}

}  // namespace
}  // namespace shmstats
