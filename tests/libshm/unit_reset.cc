// SPDX-License-Identifier: Apache-2.0
// Reset: exchanges the selected metrics' slots with zero and returns what they held;
// everything else, and the metrics' descriptions and buckets, stay as they were.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::ElementsAre;
using testing_util::Spec;

class ResetTest : public testing_util::SegmentFixture {
 protected:
  ResetTest()
      : x_(segment_.RegisterCounter(Spec("calls_total", {{"tool", "x"}}, "Calls.", "calls"))),
        y_(segment_.RegisterCounter(Spec("calls_total", {{"tool", "y"}}))),
        gauge_(segment_.RegisterGauge(Spec("depth"))),
        latency_(segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{1, 10}})) {
    x_.Inc(5);
    y_.Inc(7);
    gauge_.Set(-3.5);
    for (double v : {0.5, 5.0, 50.0, 2.0}) latency_.Observe(v);
  }

  Counter x_, y_;
  Gauge gauge_;
  Histogram latency_;
};

TEST_F(ResetTest, OneLabelSetReturnsItsOldValue) {
  auto taken = segment_.Reset([](const MetricSnapshot& m) {
    return m.name == "calls_total" && m.labels == Labels{{"tool", "x"}};
  });
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].counter, 5u);
  EXPECT_EQ(taken[0].help, "Calls.");
  EXPECT_EQ(taken[0].unit, "calls");
  EXPECT_EQ(Find("calls_total", {{"tool", "x"}}).counter, 0u);
  EXPECT_EQ(Find("calls_total", {{"tool", "y"}}).counter, 7u);
  EXPECT_EQ(Find("depth").gauge, -3.5);
  EXPECT_EQ(Find("latency").histogram.count, 4u);
}

TEST_F(ResetTest, OneMetricFamilyResetsAllItsSeries) {
  auto taken = segment_.Reset([](const MetricSnapshot& m) { return m.name == "calls_total"; });
  ASSERT_EQ(taken.size(), 2u);
  uint64_t total = taken[0].counter + taken[1].counter;
  EXPECT_EQ(total, 12u);
  EXPECT_EQ(Find("calls_total", {{"tool", "x"}}).counter, 0u);
  EXPECT_EQ(Find("calls_total", {{"tool", "y"}}).counter, 0u);
  EXPECT_EQ(Find("depth").gauge, -3.5);
}

TEST_F(ResetTest, HistogramResetKeepsBucketsAndZeroesCountsAndSum) {
  auto taken = segment_.Reset([](const MetricSnapshot& m) { return m.name == "latency"; });
  ASSERT_EQ(taken.size(), 1u);
  const HistogramValue& old = taken[0].histogram;
  EXPECT_THAT(old.bounds, ElementsAre(1, 10));
  EXPECT_THAT(old.counts, ElementsAre(1, 2, 1));
  EXPECT_EQ(old.count, 4u);
  EXPECT_EQ(old.sum, 57.5);

  HistogramValue now = Find("latency").histogram;
  EXPECT_THAT(now.bounds, ElementsAre(1, 10));
  EXPECT_THAT(now.counts, ElementsAre(0, 0, 0));
  EXPECT_EQ(now.count, 0u);
  EXPECT_EQ(now.sum, 0.0);

  latency_.Observe(20);  // the handle still records into the same buckets
  EXPECT_THAT(Find("latency").histogram.counts, ElementsAre(0, 0, 1));
  EXPECT_EQ(Find("latency").histogram.sum, 20.0);
}

TEST_F(ResetTest, AllMetrics) {
  auto taken = segment_.Reset([](const MetricSnapshot&) { return true; });
  ASSERT_EQ(taken.size(), 4u);
  auto gauge = std::find_if(taken.begin(), taken.end(),
                            [](const MetricSnapshot& m) { return m.name == "depth"; });
  ASSERT_NE(gauge, taken.end());
  EXPECT_EQ(gauge->gauge, -3.5);
  for (const MetricSnapshot& m : segment_.Read().metrics) {
    SCOPED_TRACE(m.name);
    EXPECT_EQ(m.counter, 0u);
    EXPECT_EQ(m.gauge, 0.0);
    EXPECT_EQ(m.histogram.count, 0u);
  }
  EXPECT_EQ(segment_.Read().metrics.size(), 4u) << "reset keeps the metrics registered";
  auto again = segment_.Reset([](const MetricSnapshot&) { return true; });
  for (const MetricSnapshot& m : again) EXPECT_EQ(m.counter + m.histogram.count, 0u);
}

TEST_F(ResetTest, NothingSelectedChangesNothing) {
  EXPECT_TRUE(segment_.Reset([](const MetricSnapshot&) { return false; }).empty());
  EXPECT_EQ(Find("calls_total", {{"tool", "x"}}).counter, 5u);
  EXPECT_EQ(Find("latency").histogram.count, 4u);
}

TEST_F(ResetTest, ValuesBeforePlusAfterEqualAllIncrements) {
  // Single-threaded interleaving: every increment lands in exactly one reset result
  // or in the final value.
  uint64_t taken_total = 0;
  for (int round = 0; round < 100; ++round) {
    x_.Inc(round);
    if (round % 7 == 0)
      for (const MetricSnapshot& m : segment_.Reset([](const MetricSnapshot& m) {
             return m.labels == Labels{{"tool", "x"}};
           }))
        taken_total += m.counter;
  }
  EXPECT_EQ(taken_total + Find("calls_total", {{"tool", "x"}}).counter, 5u + 99u * 100u / 2u);
}

}  // namespace
}  // namespace shmstats
