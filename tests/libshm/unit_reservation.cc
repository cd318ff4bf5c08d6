// SPDX-License-Identifier: Apache-2.0
// How registration reserves tmpfs pages (docs/segment-format.md, "Memory"): a process
// that registers a few series reserves only the pages they take; one that has made 64
// registrations reserves (and maps) at most a 64 KiB chunk ahead of each cursor; and
// series registered through mappings other than the creator's read back whole.

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace shmstats
