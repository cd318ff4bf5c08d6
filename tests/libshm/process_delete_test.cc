// SPDX-License-Identifier: Apache-2.0
// Deleting series under load: four producers record into series that are deleted
// and into others; readers never show a deleted series, the survivors' totals stay
// exact and the deleted series' room is reused by their keys. Then 200 rounds of
// producers SIGKILLed while they delete and revive series leave a consistent
// segment (checked below on its raw bytes) in which every key registers again.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "layout.h"
#include "process_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::seconds;

constexpr int kKeys = 8;

MetricSpec Spec(const std::string& name, int i) {
  return {name, {{"k", std::to_string(i)}}, "delete test", ""};
}

class DeleteTest : public test::ProcessTest {
 protected:
  DeleteTest() : ProcessTest(1024, 1 << 20) {}
};

TEST_F(DeleteTest, ReadersNeverShowDeletedSeriesWhileFourProducersRecord) {
  constexpr int kProducers = 4;
  constexpr uint64_t kRounds = 100'000;  // per producer, one increment of each key a round
  for (int i = 0; i < kKeys; ++i) {
    segment_->RegisterCounter(Spec("kept_total", i));
    segment_->RegisterCounter(Spec("doomed_total", i));
  }
  const SegmentInfo before = segment_->Info();
  const std::string name = guard_.name();
  std::vector<pid_t> pids;
  for (int p = 0; p < kProducers; ++p) {
    pids.push_back(children_.Fork([&, p] {
      Segment s = Segment::Open(name);
      std::vector<Counter> kept, doomed;
      for (int i = 0; i < kKeys; ++i) {
        kept.push_back(s.RegisterCounter(Spec("kept_total", i)));
        doomed.push_back(s.RegisterCounter(Spec("doomed_total", i)));
      }
      for (uint64_t r = 0; r < kRounds; ++r) {
        for (int i = 0; i < kKeys; ++i) {
          kept[i].Inc();
          doomed[i].Inc();
        }
        flags_[p].store(r + 1, std::memory_order_relaxed);
      }
      return 0;
    }));
  }
  // Deleted while every producer records (each past its first 1,000 rounds).
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        for (int p = 0; p < kProducers; ++p)
          if (flags_[p].load() < 1000) return false;
        return true;
      },
      seconds(60)));
  auto deleted = segment_->Delete([](const MetricSnapshot& m) { return m.name == "doomed_total"; });
  EXPECT_EQ(deleted.size(), static_cast<size_t>(kKeys));
  int reads = 0;
  auto all_done = [&] {
    for (int p = 0; p < kProducers; ++p)
      if (flags_[p].load() < kRounds) return false;
    return true;
  };
  do {  // bounded: the producers end after kRounds
    Snapshot snap = segment_->Read();
    EXPECT_TRUE(snap.problems.empty());
    for (const MetricSnapshot& m : snap.metrics) ASSERT_NE(m.name, "doomed_total");
    ++reads;
  } while (!all_done() && reads < 100'000);
  for (pid_t pid : pids) {
    auto status = children_.Wait(pid, seconds(120));
    ASSERT_TRUE(status && test::ExitedCleanly(*status));
  }
  uint64_t kept = 0;
  for (const MetricSnapshot& m : segment_->Read().metrics) {
    ASSERT_EQ(m.name, "kept_total");
    EXPECT_EQ(m.counter, kProducers * kRounds) << m.labels[0].second;
    ++kept;
  }
  EXPECT_EQ(kept, static_cast<uint64_t>(kKeys));
  // Their keys bring them back, from zero, in their own room.
  for (int i = 0; i < kKeys; ++i) segment_->RegisterCounter(Spec("doomed_total", i)).Inc(2);
  const SegmentInfo after = segment_->Info();
  EXPECT_EQ(after.descriptors_used, before.descriptors_used);
  EXPECT_EQ(after.slots_used, before.slots_used);
  EXPECT_EQ(after.strings_used, before.strings_used);
  EXPECT_EQ(after.revived_total, static_cast<uint64_t>(kKeys));
  for (const MetricSnapshot& m : segment_->Read().metrics)
    if (m.name == "doomed_total") {
      EXPECT_EQ(m.counter, 2u);
    }
}

// The segment file's bytes (its holes read as zeros).
std::vector<char> SegmentBytes(const std::string& name) {
  std::ifstream in("/dev/shm/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What the raw segment must hold after any crash: every descriptor below the cursor
// with a deletion word that is 0 for process-scoped series and has a known phase
// (a revival left midway by a dead actor is redone by the next registration), and
// family counts that never fall below the series they count.
void CheckConsistent(const std::string& name) {
  Segment s = Segment::Open(name, Access::kReadOnly);
  Snapshot snap = s.Read();
  ASSERT_TRUE(snap.problems.empty()) << snap.problems[0];
  std::map<std::string, int> shown;
  for (const MetricSnapshot& m : snap.metrics) {
    std::string key = m.name;
    for (const auto& [k, v] : m.labels) key += "," + k + "=" + v;
    ASSERT_EQ(++shown[key], 1) << key << " shown twice";
  }
  const std::vector<char> bytes = SegmentBytes(name);
  const auto& h = *reinterpret_cast<const layout::Header*>(bytes.data());
  const uint64_t used = std::min<uint64_t>(h.series_used.load(), h.max_metrics);
  std::map<uint32_t, uint32_t> present;  // family slot -> present, non-overflow series
  for (uint64_t i = 0; i < used; ++i) {
    const auto& d = *reinterpret_cast<const layout::Descriptor*>(bytes.data() + h.directory_offset +
                                                                 i * layout::kDescriptorSize);
    const uint64_t gone = d.gone.load();
    // A refill publishes the new key's state only after its gone word is present.
    if (layout::GonePhaseOf(gone) == layout::kGoneRefilling) {
      ASSERT_NE(d.state.load() & layout::kStateMask, layout::kPublished) << "descriptor " << i;
    }
    if (d.scope == layout::kScopeProcess) {
      ASSERT_EQ(gone, 0u);
    }
    if ((d.state.load() & layout::kStateMask) == layout::kPublished &&
        layout::GonePhaseOf(gone) == layout::kPresent && d.family_slot != 0 &&
        d.labels_len != 26)  // otel_metric_overflow\0true\0
      ++present[d.family_slot - 1];
  }
  ASSERT_NE(h.family_table_offset, 0u);
  for (auto [slot, n] : present) {
    const auto& f = *reinterpret_cast<const layout::FamilyRecord*>(
        bytes.data() + h.family_table_offset + uint64_t{slot} * layout::kFamilyEntrySize);
    EXPECT_GE(f.series.load(), n) << "family at " << slot;
  }
}

// What a producer still holding a handle sees, on a full segment: the deleted
// series' room is not given to another key (which is refused), what the stale handle
// records while its series is deleted is never shown nor lands in another series,
// and once its key registers again it records into that revived series.
TEST_F(DeleteTest, AFullSegmentNeverGivesADeletedSeriesRoomToAnotherKey) {
  int filled = 0;
  try {
    for (; filled < 4096; ++filled) segment_->RegisterCounter(Spec("fill_total", filled));
  } catch (const Error& e) {
    ASSERT_EQ(e.code(), Errc::kFull) << e.what();
  }
  ASSERT_GT(filled, 1);
  ASSERT_LT(filled, 4096);
  const uint32_t index = [&] {
    for (const MetricSnapshot& m : segment_->Read().metrics)
      if (m.labels[0].second == "0") return m.index;
    return ~0u;
  }();
  const std::string name = guard_.name();
  const pid_t pid = children_.Fork([&] {
    Segment s = Segment::Open(name);
    Counter held = s.RegisterCounter(Spec("fill_total", 0));
    held.Inc(1);
    flags_[0].store(1);
    if (!test::WaitUntil([&] { return flags_[1].load() == 1; }, seconds(60))) return 2;
    held.Inc(10);  // its series is deleted now
    flags_[0].store(2);
    if (!test::WaitUntil([&] { return flags_[1].load() == 2; }, seconds(60))) return 3;
    held.Inc(100);  // its key was registered again
    return 0;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[0].load() == 1; }, seconds(60)));
  ASSERT_EQ(segment_
                ->Delete([](const MetricSnapshot& m) {
                  return m.name == "fill_total" && m.labels[0].second == "0";
                })
                .size(),
            1u);
  const uint64_t refused = segment_->Info().registrations_refused;
  try {
    segment_->RegisterCounter(Spec("other_total", 0));
    ADD_FAILURE() << "a new key was given room while the segment is full";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kFull) << e.what();
  }
  EXPECT_EQ(segment_->Info().registrations_refused, refused + 1);
  flags_[1].store(1);
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[0].load() == 2; }, seconds(60)));
  Snapshot snap = segment_->Read();
  ASSERT_EQ(snap.metrics.size(), static_cast<size_t>(filled - 1));
  for (const MetricSnapshot& m : snap.metrics) {
    EXPECT_EQ(m.name, "fill_total");
    EXPECT_EQ(m.counter, 0u) << m.labels[0].second;  // the stale handle wrote nowhere shown
  }

  Counter again = segment_->RegisterCounter(Spec("fill_total", 0));
  flags_[1].store(2);
  auto status = children_.Wait(pid, seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << test::DescribeStatus(*status);
  again.Inc(1000);
  snap = segment_->Read();
  ASSERT_EQ(snap.metrics.size(), static_cast<size_t>(filled));
  for (const MetricSnapshot& m : snap.metrics) {
    const bool revived = m.labels[0].second == "0";
    EXPECT_EQ(m.counter, revived ? 1100u : 0u) << m.labels[0].second;
    if (revived) {
      EXPECT_EQ(m.index, index);  // its own room
      EXPECT_EQ(m.generation, 1u);
    }
  }
}

TEST_F(DeleteTest, SigkillDuringDeleteAndReuseLeavesItConsistent) {
  constexpr int kRounds = 200;
  std::mt19937 rng(20261207);
  const std::string name = guard_.name();
  // Counters and large histograms (zeroing 3843 slots keeps a revival open long
  // enough for kills to land inside it).
  auto touch = [](Segment& s, int i) {
    if (i % 2 == 0)
      s.RegisterCounter(Spec("churn_total", i)).Inc();
    else
      s.RegisterHistogram(Spec("churn_size", i), ExponentialBuckets{1e-3, 1e3, 5}).Observe(1);
  };
  for (int round = 0; round < kRounds; ++round) {
    flags_[0].store(0);
    const uint32_t seed = rng();
    pid_t pid = children_.Fork([&, seed] {
      Segment s = Segment::Open(name);
      std::mt19937 r(seed);
      flags_[0].store(1);
      for (uint64_t n = 0; n < 10'000'000; ++n) {  // until killed
        const int i = static_cast<int>(r() % kKeys);
        if (r() % 2)
          s.Delete(
              [i](const MetricSnapshot& m) { return m.labels[0].second == std::to_string(i); });
        else
          touch(s, i);
      }
      return 0;
    });
    ASSERT_TRUE(test::WaitUntil([&] { return flags_[0].load() == 1; }, seconds(60)));
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));  // the kill's moment
    children_.KillAndReap(pid);
    Snapshot snap = segment_->Read();
    ASSERT_TRUE(snap.problems.empty()) << "round " << round << ": " << snap.problems[0];
  }
  CheckConsistent(name);
  // Every key registers again, is shown once and records exactly.
  for (int i = 0; i < kKeys; ++i) {
    segment_->Delete(
        [i](const MetricSnapshot& m) { return m.labels[0].second == std::to_string(i); });
    touch(*segment_, i);
  }
  Snapshot snap = segment_->Read();
  ASSERT_EQ(snap.metrics.size(), static_cast<size_t>(kKeys));
  for (const MetricSnapshot& m : snap.metrics)
    EXPECT_EQ(m.type == MetricType::kCounter ? m.counter : m.histogram.count, 1u);
  CheckConsistent(name);
  EXPECT_EQ(segment_->Info().series_deleted, 0u);
}

}  // namespace
}  // namespace shmstats
