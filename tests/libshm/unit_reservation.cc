// SPDX-License-Identifier: Apache-2.0
// How registration reserves tmpfs pages (docs/segment-format.md, "Memory"): a process
// that registers a few series reserves only the pages they take; one that has made 64
// registrations reserves (and maps) at most a 64 KiB chunk ahead of each cursor; the
// pages a creator prepared are taken without reserving, 16 per page fault; and series
// registered through mappings other than the creator's read back whole.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using testing_util::ScopedSegmentName;
using testing_util::Spec;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kChunk = 64 * 1024;

MetricSpec Series(uint32_t k) {
  return Spec("reservation_requests_total",
              {{"instance", "host-" + std::to_string(k)}, {"shard", std::to_string(k % 16)}});
}

TEST(ReservationTest, AFewSeriesReserveOnlyTheirPagesAndAWarmMappingAtMostAChunkAhead) {
  ScopedSegmentName name;
  Segment creator = Segment::Create(name.name());
  const uint64_t empty = creator.Info().resident_bytes;

  // Another mapping, as a producer process: ten series take at most a page of
  // descriptors, strings and slots each (none while they fit in what the creator
  // reserved), and their family's table entry.
  Segment producer = Segment::Open(name.name(), Access::kReadWrite);
  for (uint32_t k = 0; k < 10; ++k) producer.RegisterCounter(Series(k)).Inc(k);
  EXPECT_LE(producer.Info().resident_bytes - empty, 4 * kPage);

  // Warm: what the series use, plus at most a chunk (and its first page's rounding)
  // ahead of each of the three cursors.
  constexpr uint32_t kSeries = 3'000;
  for (uint32_t k = 10; k < kSeries; ++k) producer.RegisterCounter(Series(k)).Inc(k);
  const SegmentInfo info = producer.Info();
  const uint64_t used = uint64_t{kSeries} * 128 + info.slots_used * 8 + info.strings_used;
  EXPECT_LE(info.resident_bytes - empty, used + 3 * (kChunk + 2 * kPage) + kPage);

  // Every series reads back through the creator's mapping and a third one.
  Segment reader = Segment::Open(name.name(), Access::kReadOnly);
  for (const Segment* s : {&creator, &reader}) {
    Snapshot snap = s->Read();
    ASSERT_TRUE(snap.problems.empty()) << snap.problems.front();
    ASSERT_EQ(snap.metrics.size(), kSeries);
    uint64_t total = 0;
    for (const MetricSnapshot& m : snap.metrics) total += m.counter;
    EXPECT_EQ(total, uint64_t{kSeries} * (kSeries - 1) / 2);
  }
  // Registering again through the creator finds them.
  for (uint32_t k = 0; k < kSeries; k += 101) creator.RegisterCounter(Series(k)).Inc(1);
  EXPECT_EQ(creator.Info().metrics_used, kSeries);
}

long PageFaultsOfThisThread() {
  rusage r{};
  getrusage(RUSAGE_THREAD, &r);
  return r.ru_minflt;
}

TEST(ReservationTest, ProducersTakeWhatTheCreatorPreparedWithoutReservingAndFewFaults) {
  ScopedSegmentName name;
  Segment creator = Segment::Create(name.name());
  const std::vector<char> bytes = testing_util::ReadBytes(name.path());
  EXPECT_EQ(testing_util::Peek<uint64_t>(bytes, offsetof(layout::Header, prepared_bytes)),
            256u * 1024);
  const uint64_t created = creator.Info().resident_bytes;

  // 1,000 series take 125 KiB of descriptors, 16 pages of slots and 15 of strings,
  // all prepared: the file gains only the family's table entry page.
  constexpr uint32_t kSeries = 1'000;
  std::vector<MetricSpec> specs;
  for (uint32_t k = 0; k < kSeries; ++k) specs.push_back(Series(k));
  Segment producer = Segment::Open(name.name(), Access::kReadWrite);
  const long faults_before = PageFaultsOfThisThread();
  for (uint32_t k = 0; k < kSeries; ++k) producer.RegisterCounter(specs[k]).Inc(k);
  const long faults = PageFaultsOfThisThread() - faults_before;
  EXPECT_LE(producer.Info().resident_bytes - created, kPage);
  // Mapping the keys' index entries and these 63 pages one page at a time would take
  // over 100 faults (the whole 2 MiB index alone, 32 at 16 pages each); the hot zone
  // and read faults on prepared pages take a few.
  EXPECT_LT(faults, 32) << "page faults of 1,000 registrations through a new mapping";

  Snapshot snap = creator.Read();
  ASSERT_TRUE(snap.problems.empty()) << snap.problems.front();
  ASSERT_EQ(snap.metrics.size(), kSeries);
  uint64_t total = 0;
  for (const MetricSnapshot& m : snap.metrics) total += m.counter;
  EXPECT_EQ(total, uint64_t{kSeries} * (kSeries - 1) / 2);
}

}  // namespace
}  // namespace shmstats
