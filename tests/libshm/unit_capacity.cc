// SPDX-License-Identifier: Apache-2.0
// Capacity of a default segment: 100,000 distinct series register (each lookup goes
// through the series and family indexes, not a scan) and every one reads back; the
// file costs memory only for what is used; long label sets fit.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::HasSubstr;
using testing_util::ErrorOf;
using testing_util::ScopedSegmentName;
using testing_util::Spec;

constexpr uint32_t kSeries = 100'000;

MetricSpec Series(uint32_t k) {
  return Spec("capacity_requests_total",
              {{"instance", "host-" + std::to_string(k)}, {"shard", std::to_string(k % 16)}});
}

TEST(CapacityTest, DefaultSegmentHoldsOneHundredThousandSeriesPayingForWhatIsUsed) {
  ScopedSegmentName name;
  Segment s = Segment::Create(name.name());
  SegmentInfo empty = s.Info();
  EXPECT_GE(empty.max_metrics, kSeries);
  for (uint32_t k = 0; k < 100; ++k) s.RegisterCounter(Series(k)).Inc(k);
  const uint64_t resident_100 = s.Info().resident_bytes;
  for (uint32_t k = 100; k < kSeries; ++k) s.RegisterCounter(Series(k)).Inc(k);
  // Registering again finds each one.
  for (uint32_t k = 0; k < kSeries; k += 997) s.RegisterCounter(Series(k)).Inc(1);
  SegmentInfo full = s.Info();
  const uint64_t resident_100k = full.resident_bytes;
  RecordProperty("size_bytes", std::to_string(full.size_bytes));
  RecordProperty("resident_bytes_100", std::to_string(resident_100));
  RecordProperty("resident_bytes_100000", std::to_string(resident_100k));
  std::cout << "[ info     ] segment of " << full.size_bytes << " bytes: resident " << resident_100
            << " bytes with 100 series, " << resident_100k << " with " << kSeries << "\n";
  EXPECT_EQ(full.metrics_used, kSeries);
  EXPECT_EQ(full.registrations_refused, 0u);
  // 100 series cost the header, the two indexes (16 bytes per series of capacity),
  // the 256 KiB of descriptors, strings and slots each reserved at creation, and a
  // few pages; 100,000 about 100 bytes each more. Neither the whole file.
  EXPECT_LE(resident_100, 4096 + 16ull * 2 * empty.max_metrics + 3 * 256 * 1024 + 64 * 4096);
  EXPECT_GT(resident_100k, resident_100);
  EXPECT_LT(resident_100k, full.size_bytes / 2);

  Snapshot snap = s.Read();
  EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
  ASSERT_EQ(snap.metrics.size(), kSeries);
  // Room for a reader's own metrics: appending them moves none of the 100,000.
  EXPECT_GE(snap.metrics.capacity(), kSeries + kSnapshotSpare);
  std::vector<bool> seen(kSeries);
  for (const MetricSnapshot& m : snap.metrics) {
    ASSERT_EQ(m.labels.size(), 2u);
    uint32_t k = std::stoul(m.labels[0].second.substr(5));
    ASSERT_LT(k, kSeries);
    EXPECT_FALSE(seen[k]);
    seen[k] = true;
    EXPECT_EQ(m.counter, k + (k % 997 == 0 ? 1 : 0)) << k;
  }
}

TEST(CapacityTest, LabelSetsOfFourKibibytesFit) {
  ScopedSegmentName name;
  Segment s = Segment::Create(name.name(), testing_util::SmallOptions());
  Labels labels;
  for (int i = 0; i < 16; ++i)
    labels.emplace_back("label_" + std::to_string(i), std::string(240, 'a' + i));
  MetricSpec spec = Spec("wide_total", labels, std::string(kMaxHelpBytes, 'h'));
  s.RegisterCounter(spec).Inc(5);
  s.RegisterCounter(spec).Inc(6);
  Snapshot snap = s.Read();
  ASSERT_EQ(snap.metrics.size(), 1u);
  std::sort(labels.begin(), labels.end());  // as registration stores them
  EXPECT_EQ(snap.metrics[0].labels, labels);
  EXPECT_EQ(snap.metrics[0].help, spec.help);
  EXPECT_EQ(snap.metrics[0].counter, 11u);
}

TEST(CapacityTest, FullStringsAreaRefusesWithAMessage) {
  ScopedSegmentName name;
  SegmentOptions o = testing_util::SmallOptions();
  o.string_bytes = 4096;
  Segment s = Segment::Create(name.name(), o);
  Labels labels{{"v", std::string(3000, 'x')}};
  s.RegisterCounter(Spec("first_total", labels));
  std::string message =
      ErrorOf([&] { s.RegisterCounter(Spec("second_total", labels)); }, Errc::kFull);
  EXPECT_THAT(message, HasSubstr("bytes for its name and labels"));
  EXPECT_EQ(s.Info().metrics_used, 1u);
  EXPECT_EQ(s.Info().metrics_abandoned, 0u);
}

TEST(CapacityTest, FamilyTypeIsEnforcedAcrossSeries) {
  ScopedSegmentName name;
  Segment s = Segment::Create(name.name(), testing_util::SmallOptions());
  s.RegisterCounter(Spec("jobs", {{"kind", "a"}}));
  std::string message = ErrorOf(
      [&] {
        s.RegisterGauge(Spec("jobs", {{"kind", "b"}}));
      },
      Errc::kTypeMismatch);
  EXPECT_THAT(message, HasSubstr("family jobs already has counter series"));
  s.RegisterCounter(Spec("jobs", {{"kind", "b"}}));
  EXPECT_EQ(s.Read().metrics.size(), 2u);
}

}  // namespace
}  // namespace shmstats
