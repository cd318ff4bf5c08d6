// SPDX-License-Identifier: Apache-2.0
// The producer table as untrusted bytes: a segment made before it (offset 0) keeps
// working, and garbage in the table never crashes a reader.

#include <random>

#include "unit_fixture.h"

namespace shmstats::testing_util {
namespace {

using ProducerTableTest = SegmentFixture;

TEST_F(ProducerTableTest, SegmentWithoutTableKeepsWorking) {
  segment_ = Segment::Open(name());  // unmap nothing of ours while we rewrite it
  std::vector<char> bytes = ReadBytes(path());
  const auto table = Peek<uint64_t>(bytes, offsetof(layout::Header, producer_table_offset));
  ASSERT_GT(table, 0u);
  Poke<uint64_t>(bytes, offsetof(layout::Header, producer_table_offset), 0);
  Poke<uint32_t>(bytes, offsetof(layout::Header, producer_capacity), 0);
  // Made before the table, it has no exemplar region either (that comes after it).
  Poke<uint64_t>(bytes, offsetof(layout::Header, exemplar_offset), 0);
  Poke<uint32_t>(bytes, offsetof(layout::Header, exemplar_records), 0);
  Poke<uint32_t>(bytes, offsetof(layout::Header, exemplar_record_size), 0);
  Poke<uint64_t>(bytes, offsetof(layout::Header, total_size), table);  // the regions before its end
  bytes.resize(table);
  Segment::Remove(name());
  WriteBytes(path(), bytes);
  Segment old = Segment::Open(name());
  old.RegisterCounter(Spec("c_total")).Inc();
  EXPECT_TRUE(old.Producers().empty());
  EXPECT_EQ(old.Info().producers_max, 0u);
  EXPECT_EQ(old.Read().metrics.size(), 1u);
}

TEST_F(ProducerTableTest, GarbageRecordsNeverCrashAReader) {
  segment_.RegisterCounter(Spec("c_total"));
  const std::vector<char> clean = ReadBytes(path());
  const auto table = Peek<uint64_t>(clean, offsetof(layout::Header, producer_table_offset));
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<char> bytes = clean;
    Poke<uint64_t>(bytes, offsetof(layout::Header, producers_used), rng() % 300);
    for (int k = 0; k < 64; ++k)
      bytes[table + rng() % (4 * layout::kProducerRecordSize)] = static_cast<char>(rng());
    if (round % 2) Poke<uint64_t>(bytes, table, layout::ProducerState(rng(), 1, 2));
    WriteBytes(path(), bytes);
    Segment s = Segment::Open(name(), Access::kReadOnly);
    for (const auto& p : s.Producers()) EXPECT_LE(p.command.size(), layout::kCommBytes);
  }
}

}  // namespace
}  // namespace shmstats::testing_util
