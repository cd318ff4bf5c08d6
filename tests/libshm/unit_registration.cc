// SPDX-License-Identifier: Apache-2.0
// Registration: find-or-create is idempotent, mismatched types and bucket layouts
// are refused, a full segment refuses new metrics while old ones keep working, and
// keys find their place in the series index's hot zone first, then beyond it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::HasSubstr;
using testing_util::ErrorOf;
using testing_util::Spec;

using RegistrationTest = testing_util::SegmentFixture;

TEST_F(RegistrationTest, SameSeriesSharesOneSlot) {
  Counter a = segment_.RegisterCounter(Spec("tool_calls_total", {{"tool", "x"}}));
  Counter b = segment_.RegisterCounter(Spec("tool_calls_total", {{"tool", "x"}}));
  a.Inc(2);
  b.Inc(40);
  Snapshot snap = segment_.Read();
  ASSERT_EQ(snap.metrics.size(), 1u);
  EXPECT_EQ(snap.metrics[0].counter, 42u);
  EXPECT_EQ(segment_.Info().slots_used, 2u);  // value and reset total
  EXPECT_EQ(segment_.Info().metrics_used, 1u);
}

TEST_F(RegistrationTest, SecondSegmentObjectFindsTheSameSeries) {
  Segment other = Segment::Open(name());
  Gauge a = segment_.RegisterGauge(Spec("queue_depth"));
  Gauge b = other.RegisterGauge(Spec("queue_depth"));
  a.Set(5);
  b.Add(2.5);
  EXPECT_EQ(Find("queue_depth").gauge, 7.5);
  EXPECT_EQ(other.Read().metrics.size(), 1u);
}

TEST_F(RegistrationTest, HistogramsWithTheSameBucketsAreShared) {
  Histogram a = segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{1, 2, 4}});
  Histogram b = segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{1, 2, 4}});
  ExponentialBuckets exp{.min = 0.001, .max = 10, .schema = 2};
  Histogram c = segment_.RegisterHistogram(Spec("size"), exp);
  Histogram d = segment_.RegisterHistogram(Spec("size"), exp);
  a.Observe(1);
  b.Observe(3);
  c.Observe(0.5);
  d.Observe(0.5);
  EXPECT_EQ(Find("latency").histogram.count, 2u);
  EXPECT_EQ(Find("latency").histogram.counts, (std::vector<uint64_t>{1, 0, 1, 0}));
  EXPECT_EQ(Find("size").histogram.count, 2u);
  EXPECT_EQ(segment_.Read().metrics.size(), 2u);
}

TEST_F(RegistrationTest, FirstHelpAndUnitWin) {
  segment_.RegisterCounter(Spec("bytes_total", {}, "Bytes sent.", "bytes"));
  segment_.RegisterCounter(Spec("bytes_total", {}, "Other.", "other"));
  MetricSnapshot m = Find("bytes_total");
  EXPECT_EQ(m.help, "Bytes sent.");
  EXPECT_EQ(m.unit, "bytes");
  EXPECT_EQ(m.type, MetricType::kCounter);
}

TEST_F(RegistrationTest, OtherTypeForTheSameSeriesIsAMismatch) {
  segment_.RegisterCounter(Spec("jobs", {{"q", "a"}})).Inc();
  std::string message = ErrorOf(
      [&] {
        segment_.RegisterGauge(Spec("jobs", {{"q", "a"}}));
      },
      Errc::kTypeMismatch);
  EXPECT_THAT(message, HasSubstr("jobs{q=\"a\"}"));
  EXPECT_THAT(message, HasSubstr("counter"));
  EXPECT_THAT(message, HasSubstr("gauge"));
  ErrorOf(
      [&] {
        segment_.RegisterHistogram(Spec("jobs", {{"q", "a"}}), ExplicitBuckets{{1}});
      },
      Errc::kTypeMismatch);
  EXPECT_EQ(Find("jobs", {{"q", "a"}}).counter, 1u);
}

TEST_F(RegistrationTest, OtherTypeInTheSameFamilyIsAMismatch) {
  segment_.RegisterCounter(Spec("jobs", {{"q", "a"}}));
  std::string message = ErrorOf(
      [&] {
        segment_.RegisterGauge(Spec("jobs", {{"q", "b"}}));
      },
      Errc::kTypeMismatch);
  EXPECT_THAT(message, HasSubstr("family jobs"));
  ErrorOf([&] { segment_.RegisterHistogram(Spec("jobs"), ExplicitBuckets{{1}}); },
          Errc::kTypeMismatch);
  EXPECT_NO_THROW(segment_.RegisterCounter(Spec("jobs", {{"q", "b"}})));
  EXPECT_EQ(segment_.Read().metrics.size(), 2u);
}

TEST_F(RegistrationTest, DifferentBucketsAreAMismatch) {
  segment_.RegisterHistogram(Spec("explicit"), ExplicitBuckets{{1, 2, 4}});
  for (const Buckets& other :
       {Buckets{ExplicitBuckets{{1, 2, 5}}}, Buckets{ExplicitBuckets{{1, 2}}},
        Buckets{ExplicitBuckets{{1, 2, 4, 8}}},
        Buckets{ExponentialBuckets{.min = 1, .max = 4, .schema = 1}}}) {
    EXPECT_THAT(
        ErrorOf([&] { segment_.RegisterHistogram(Spec("explicit"), other); }, Errc::kTypeMismatch),
        HasSubstr("other buckets"));
  }
  ExponentialBuckets exp{.min = 0.001, .max = 10, .schema = 3};
  segment_.RegisterHistogram(Spec("exponential"), exp);
  ExponentialBuckets finer = exp, wider = exp, lower = exp;
  finer.schema = 4;
  wider.max = 1000;
  lower.min = 1e-6;
  for (const ExponentialBuckets& other : {finer, wider, lower}) {
    EXPECT_THAT(ErrorOf([&] { segment_.RegisterHistogram(Spec("exponential"), other); },
                        Errc::kTypeMismatch),
                HasSubstr("schema"));
  }
  ErrorOf([&] { segment_.RegisterHistogram(Spec("exponential"), ExplicitBuckets{{1}}); },
          Errc::kTypeMismatch);
  EXPECT_EQ(segment_.Read().metrics.size(), 2u);
}

TEST_F(RegistrationTest, FullDirectoryRefusesAndCountsButOldMetricsWork) {
  SegmentOptions o = testing_util::SmallOptions();
  o.max_metrics = 4;
  Recreate(o);
  std::vector<Counter> counters;
  for (int i = 0; i < 4; ++i)
    counters.push_back(segment_.RegisterCounter(Spec("c" + std::to_string(i) + "_total")));
  std::string message =
      ErrorOf([&] { segment_.RegisterCounter(Spec("extra_total")); }, Errc::kFull);
  EXPECT_THAT(message, HasSubstr("full"));
  EXPECT_THAT(message, HasSubstr("4 metric descriptors"));
  EXPECT_THAT(message, HasSubstr("extra_total"));
  ErrorOf([&] { segment_.RegisterGauge(Spec("extra_gauge")); }, Errc::kFull);
  EXPECT_EQ(segment_.Info().registrations_refused, 2u);

  // Existing handles and re-registrations of existing series keep working.
  for (int i = 0; i < 4; ++i) counters[i].Inc(i + 1);
  segment_.RegisterCounter(Spec("c3_total")).Inc(10);
  Snapshot snap = segment_.Read();
  ASSERT_EQ(snap.metrics.size(), 4u);
  EXPECT_EQ(Find("c0_total").counter, 1u);
  EXPECT_EQ(Find("c3_total").counter, 14u);
  EXPECT_EQ(segment_.Info().metrics_used, 4u);
  EXPECT_EQ(segment_.Info().registrations_refused, 2u);
}

TEST_F(RegistrationTest, FullDataAreaRefusesAndCountsButOldMetricsWork) {
  SegmentOptions o = testing_util::SmallOptions();
  o.max_slots = 16;  // two cache lines: two scalar metrics
  Recreate(o);
  Counter a = segment_.RegisterCounter(Spec("a_total"));
  Gauge b = segment_.RegisterGauge(Spec("b"));
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string message = ErrorOf([&] { segment_.RegisterCounter(Spec("c_total")); }, Errc::kFull);
    EXPECT_THAT(message, HasSubstr("value slots"));
    EXPECT_THAT(message, HasSubstr("c_total"));
  }
  // A histogram that needs more slots than the whole segment has.
  ErrorOf(
      [&] {
        segment_.RegisterHistogram(Spec("h"), ExplicitBuckets{{1, 2, 3, 4, 5, 6, 7, 8}});
      },
      Errc::kFull);
  SegmentInfo info = segment_.Info();
  EXPECT_EQ(info.registrations_refused, 6u);
  // A refusal is not a dead producer: no descriptor is consumed or abandoned.
  EXPECT_EQ(info.metrics_abandoned, 0u);
  EXPECT_EQ(info.metrics_used, 2u);
  EXPECT_LE(info.slots_used, 16u);

  a.Inc(3);
  b.Set(-1.5);
  EXPECT_EQ(Find("a_total").counter, 3u);
  EXPECT_EQ(Find("b").gauge, -1.5);
  EXPECT_TRUE(segment_.Read().problems.empty());
}

TEST_F(RegistrationTest, RefusalsForSlotsDoNotExhaustTheDirectory) {
  SegmentOptions o = testing_util::SmallOptions();
  o.max_metrics = 8;
  o.max_slots = 8;  // room for one scalar metric
  Recreate(o);
  segment_.RegisterCounter(Spec("only_total"));
  for (int i = 0; i < 20; ++i)
    ErrorOf([&] { segment_.RegisterCounter(Spec("n" + std::to_string(i) + "_total")); },
            Errc::kFull);
  EXPECT_EQ(segment_.Info().registrations_refused, 20u);
  // The refusals above must not have used up descriptors: every one is still free.
  EXPECT_EQ(segment_.Info().metrics_used + segment_.Info().metrics_abandoned, 1u);
}

TEST_F(RegistrationTest, HandlesFromTheSameSegmentAreIndependentSlots) {
  Counter a = segment_.RegisterCounter(Spec("a_total"));
  segment_.RegisterCounter(Spec("b_total"));
  Histogram h = segment_.RegisterHistogram(Spec("h"), ExplicitBuckets{{1}});
  a.Inc();
  h.Observe(0.5);
  EXPECT_EQ(Find("a_total").counter, 1u);
  EXPECT_EQ(Find("b_total").counter, 0u);
  EXPECT_EQ(Find("h").histogram.count, 1u);
  // Each metric's slots start on their own cache line; a histogram of 2 buckets
  // takes 3 * 2 + 1.
  EXPECT_EQ(segment_.Info().slots_used, 16u + 7u);
}

// docs/segment-format.md, "Series index": a key is linked at the first free entry of
// its probe sequence (8 entries of the hot zone, then the rest of the index), and found
// there again through any mapping.
TEST_F(RegistrationTest, FirstSeriesSitInTheHotZoneAndLaterOnesBeyondIt) {
  constexpr uint32_t kSeries = 20'000;
  Recreate(testing_util::Options(kSeries, kSeries * 8));
  auto spec = [](uint32_t k) {
    return Spec(k % 2 ? "odd_total" : "even_total", {{"k", std::to_string(k)}});
  };
  for (uint32_t k = 0; k < kSeries; ++k) segment_.RegisterCounter(spec(k)).Inc(k);

  const std::vector<char> bytes = testing_util::ReadBytes(path());
  const auto entries = testing_util::Peek<uint32_t>(bytes, offsetof(layout::Header, index_entries));
  ASSERT_EQ(entries, 65'536u);
  uint32_t hot = 0, beyond = 0;
  for (uint32_t i = 0; i < entries; ++i)
    if (testing_util::Peek<uint64_t>(bytes, layout::kHeaderSize + i * 8ull) != 0)
      ++(i < layout::kHotEntries ? hot : beyond);
  EXPECT_EQ(hot + beyond, kSeries);
  // Most of the hot zone is taken before its chains of 8 fill up (a hash spread over
  // the whole index would put an eighth of the keys, 2,500, there).
  EXPECT_GT(hot, layout::kHotEntries * 3 / 4);

  // Every key is found again, through another mapping: none is linked twice.
  Segment other = Segment::Open(name(), Access::kReadWrite);
  for (uint32_t k = 0; k < kSeries; ++k) other.RegisterCounter(spec(k)).Inc();
  EXPECT_EQ(other.Info().metrics_used, kSeries);
  Snapshot snap = segment_.Read();
  ASSERT_TRUE(snap.problems.empty()) << snap.problems.front();
  ASSERT_EQ(snap.metrics.size(), kSeries);
  for (const MetricSnapshot& m : snap.metrics)
    EXPECT_EQ(m.counter, std::stoull(m.labels.at(0).second) + 1) << m.labels.at(0).second;
}

}  // namespace
}  // namespace shmstats
