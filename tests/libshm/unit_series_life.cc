// SPDX-License-Identifier: Apache-2.0
// Series lifecycle in one process: delete (hidden at once, revived from zero by its
// key, its room reused, a stale handle never writing elsewhere), the idle TTL kept
// in the descriptor, and family limits with their overflow series.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using testing_util::Spec;

class SeriesLifeTest : public testing_util::SegmentFixture {
 protected:
  bool Shown(std::string_view name, const Labels& labels = {}) const {
    for (const MetricSnapshot& m : segment_.Read().metrics)
      if (m.name == name && m.labels == labels) return true;
    return false;
  }
  std::vector<MetricSnapshot> DeleteNamed(std::string_view name, const Labels& labels = {}) {
    return segment_.Delete(
        [&](const MetricSnapshot& m) { return m.name == name && m.labels == labels; });
  }
};

TEST_F(SeriesLifeTest, DeleteHidesAndTheKeyRevivesItFromZeroInItsOwnRoom) {
  Counter c = segment_.RegisterCounter(Spec("jobs_total", {{"queue", "a"}}));
  Counter other = segment_.RegisterCounter(Spec("jobs_total", {{"queue", "b"}}));
  c.Inc(5);
  other.Inc(2);
  const uint32_t index = Find("jobs_total", {{"queue", "a"}}).index;
  const SegmentInfo before = segment_.Info();

  auto deleted = DeleteNamed("jobs_total", {{"queue", "a"}});
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].counter, 5u);  // the values it had
  EXPECT_FALSE(Shown("jobs_total", {{"queue", "a"}}));
  EXPECT_EQ(Find("jobs_total", {{"queue", "b"}}).counter, 2u);
  EXPECT_EQ(segment_.Deletions(), 1u);
  SegmentInfo info = segment_.Info();
  EXPECT_EQ(info.series_deleted, 1u);
  EXPECT_EQ(info.metrics_used, before.metrics_used - 1);
  // Deleting again finds nothing; a reset does not see it.
  EXPECT_TRUE(DeleteNamed("jobs_total", {{"queue", "a"}}).empty());
  EXPECT_TRUE(segment_
                  .Reset([](const MetricSnapshot& m) {
                    return m.labels.size() == 1 && m.labels[0].second == "a";
                  })
                  .empty());

  c.Inc(3);  // a stale handle: recorded, never shown
  EXPECT_FALSE(Shown("jobs_total", {{"queue", "a"}}));

  Counter again = segment_.RegisterCounter(Spec("jobs_total", {{"queue", "a"}}));
  MetricSnapshot m = Find("jobs_total", {{"queue", "a"}});
  EXPECT_EQ(m.counter, 0u);
  EXPECT_EQ(m.counter_reset_total, 0u);
  EXPECT_EQ(m.index, index);  // its own descriptor, strings and slots
  EXPECT_EQ(m.generation, 1u);
  info = segment_.Info();
  EXPECT_EQ(info.descriptors_used, before.descriptors_used);
  EXPECT_EQ(info.slots_used, before.slots_used);
  EXPECT_EQ(info.strings_used, before.strings_used);
  EXPECT_EQ(info.series_deleted, 0u);
  EXPECT_EQ(info.revived_total, 1u);
  again.Inc(1);
  c.Inc(2);  // the stale handle records into its key's series again
  EXPECT_EQ(Find("jobs_total", {{"queue", "a"}}).counter, 3u);
  EXPECT_EQ(Find("jobs_total", {{"queue", "b"}}).counter, 2u);
}

TEST_F(SeriesLifeTest, RevivedHistogramKeepsItsBucketsAndGaugeRestartsAtZero) {
  Histogram h = segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{1, 10}});
  Gauge g = segment_.RegisterGauge(Spec("depth"));
  h.Observe(5);
  g.Set(7);
  EXPECT_EQ(segment_.Delete([](const MetricSnapshot&) { return true; }).size(), 2u);
  EXPECT_TRUE(segment_.Read().metrics.empty());
  // Another type or other buckets for a deleted key are still a mismatch.
  testing_util::ErrorOf([&] { segment_.RegisterGauge(Spec("latency")); }, Errc::kTypeMismatch);
  testing_util::ErrorOf(
      [&] {
        segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{2, 20}});
      },
      Errc::kTypeMismatch);
  segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{1, 10}});
  segment_.RegisterGauge(Spec("depth"));
  MetricSnapshot hm = Find("latency");
  EXPECT_EQ(hm.histogram.count, 0u);
  EXPECT_EQ(hm.histogram.sum, 0);
  EXPECT_EQ(hm.histogram.bounds, (std::vector<double>{1, 10}));
  EXPECT_EQ(Find("depth").gauge, 0);
  h.Observe(0.5);
  EXPECT_EQ(Find("latency").histogram.counts, (std::vector<uint64_t>{1, 0, 0}));
}

TEST_F(SeriesLifeTest, DeletingAKeyHidesItsProcessSeries) {
  MetricSpec spec = Spec("work_total");
  spec.scope = Scope::kProcess;
  Counter c = segment_.RegisterCounter(spec);
  c.Inc(4);
  EXPECT_EQ(Find("work_total").counter, 4u);
  EXPECT_EQ(DeleteNamed("work_total").size(), 1u);
  Snapshot snap = segment_.Read();
  EXPECT_TRUE(snap.metrics.empty());
  EXPECT_TRUE(snap.problems.empty()) << snap.problems[0];
}

// In one process: the process's own record holds every series deleted after it
// started, until it declares its handles dropped; a reset under way in another thread
// holds them all the same.
TEST_F(SeriesLifeTest, OwnRoomGoesToAnotherKeyOnlyAfterItsHandlesAreDeclaredDropped) {
  SegmentOptions small = testing_util::SmallOptions();
  small.max_metrics = 4;
  Recreate(small);
  for (const char* q : {"a", "b", "c", "d"})
    segment_.RegisterCounter(Spec("jobs_total", {{"q", q}}));
  auto wait_ticks = [] {
    const uint64_t mark = Segment::DeletionMark();
    while (Segment::DeletionMark() <= mark + 2) std::this_thread::yield();  // the boot clock
  };
  ASSERT_EQ(DeleteNamed("jobs_total", {{"q", "a"}}).size(), 1u);
  wait_ticks();
  testing_util::ErrorOf(
      [&] {
        segment_.RegisterCounter(Spec("jobs_total", {{"q", "e"}}));
      },
      Errc::kFull);
  segment_.DroppedDeletedBefore(Segment::DeletionMark());
  segment_.RegisterCounter(Spec("jobs_total", {{"q", "e"}})).Inc(3);
  EXPECT_EQ(Find("jobs_total", {{"q", "e"}}).counter, 3u);
  EXPECT_FALSE(Shown("jobs_total", {{"q", "a"}}));

  ASSERT_EQ(DeleteNamed("jobs_total", {{"q", "b"}}).size(), 1u);
  wait_ticks();
  std::atomic<int> step{0};
  std::thread resetter([&] {
    segment_.Reset([&](const MetricSnapshot&) {
      int first = 0;  // the first series it looks at waits: the reset is under way
      if (step.compare_exchange_strong(first, 1))
        while (step.load() != 2) std::this_thread::yield();
      return false;
    });
  });
  while (step.load() != 1) std::this_thread::yield();
  segment_.DroppedDeletedBefore(Segment::DeletionMark());
  testing_util::ErrorOf(
      [&] {
        segment_.RegisterCounter(Spec("jobs_total", {{"q", "f"}}));
      },
      Errc::kFull);
  step.store(2);
  resetter.join();
  wait_ticks();  // past the refusal's 20 ms before another search
  segment_.RegisterCounter(Spec("jobs_total", {{"q", "f"}})).Inc(4);
  EXPECT_EQ(Find("jobs_total", {{"q", "f"}}).counter, 4u);
  EXPECT_TRUE(segment_.Read().problems.empty());
}

TEST_F(SeriesLifeTest, TtlIsKeptInTheSeries) {
  MetricSpec spec = Spec("idle_total");
  spec.ttl_seconds = 7;
  segment_.RegisterCounter(spec);
  segment_.RegisterCounter(Spec("kept_total"));
  EXPECT_EQ(Find("idle_total").ttl_seconds, 7u);
  EXPECT_EQ(Find("kept_total").ttl_seconds, 0u);
}

class FamilyLimitTest : public testing_util::SegmentFixture {
 protected:
  FamilyLimitTest() { Recreate(testing_util::Options(256, 4096)); }
};

TEST_F(FamilyLimitTest, PastTheLimitNewLabelSetsShareTheCountedOverflowSeries) {
  MetricSpec spec = Spec("requests_total");
  spec.family_limit = 10;
  for (int i = 0; i < 30; ++i) {
    spec.labels = {{"path", "/" + std::to_string(i)}};
    segment_.RegisterCounter(spec).Inc(1);
  }
  // Known label sets keep their series; other families are not limited.
  spec.labels = {{"path", "/3"}};
  segment_.RegisterCounter(spec).Inc(1);
  segment_.RegisterCounter(Spec("other_total", {{"k", "v"}})).Inc(1);
  uint64_t total = 0, series = 0;
  for (const MetricSnapshot& m : segment_.Read().metrics)
    if (m.name == "requests_total") total += m.counter, ++series;
  EXPECT_EQ(series, 11u);
  EXPECT_EQ(total, 31u);
  EXPECT_EQ(Find("requests_total", {{"otel_metric_overflow", "true"}}).counter, 20u);
  auto families = segment_.Families();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "requests_total");
  EXPECT_EQ(families[0].series, 11u);
  EXPECT_EQ(families[0].overflow_series, 1u);
  EXPECT_EQ(families[0].limit, 10u);
  EXPECT_EQ(families[0].overflowed, 20u);
  EXPECT_EQ(families[1].limit, 0u);
  EXPECT_EQ(segment_.Info().overflowed_total, 20u);

  // A deleted series gives its room back to the family.
  EXPECT_EQ(
      segment_.Delete([](const MetricSnapshot& m) {
                return m.labels == Labels{{"path", "/0"}};
              })
          .size(),
      1u);
  spec.labels = {{"path", "/new"}};
  segment_.RegisterCounter(spec);
  EXPECT_EQ(Find("requests_total", {{"path", "/new"}}).counter, 0u);
  spec.labels = {{"path", "/0"}};  // the family is full again: /0 stays deleted
  segment_.RegisterCounter(spec).Inc(1);
  EXPECT_EQ(Find("requests_total", {{"otel_metric_overflow", "true"}}).counter, 21u);
}

TEST_F(FamilyLimitTest, TheSegmentDefaultAppliesToEveryFamily) {
  SegmentOptions o = testing_util::Options(64, 1024);
  o.family_limit = 3;
  Recreate(o);
  EXPECT_EQ(segment_.Info().family_limit, 3u);
  for (int i = 0; i < 5; ++i)
    segment_.RegisterGauge(Spec("temperature", {{"sensor", std::to_string(i)}})).Set(i);
  for (int i = 0; i < 5; ++i)
    segment_.RegisterHistogram(Spec("size", {{"kind", std::to_string(i)}}), ExplicitBuckets{{1, 2}})
        .Observe(1);
  auto families = segment_.Families();
  ASSERT_EQ(families.size(), 2u);
  for (const FamilyInfo& f : families) {
    EXPECT_EQ(f.series, 4u) << f.name;
    EXPECT_EQ(f.limit, 3u);
    EXPECT_EQ(f.overflowed, 2u);
  }
  EXPECT_EQ(Find("size", {{"otel_metric_overflow", "true"}}).histogram.count, 2u);
}

}  // namespace
}  // namespace shmstats
