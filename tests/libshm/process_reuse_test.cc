// SPDX-License-Identifier: Apache-2.0
// A deleted series' room given to another key (libshm/src/reuse.h): never while a
// process that could hold a handle to it lives (a forked child of a registrant, a
// recordless registrant, a reset under way), always once none can; under load with
// producers that drop their handles, readers never show a deleted or half-refilled
// series and the survivors' totals stay exact.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "layout.h"
#include "process_harness.h"
#include "process_identity.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::seconds;

constexpr int kMetrics = 16;

MetricSpec Spec(const std::string& name, int i) {
  return {name, {{"k", std::to_string(i)}}, "reuse test", ""};
}

// The segment file's header and descriptors, read raw (holes read as zeros).
struct Raw {
  std::vector<char> bytes;
  explicit Raw(const std::string& name) {
    std::ifstream in("/dev/shm/" + name, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const layout::Header& header() const {
    return *reinterpret_cast<const layout::Header*>(bytes.data());
  }
  const layout::Descriptor& descriptor(uint32_t i) const {
    return *reinterpret_cast<const layout::Descriptor*>(bytes.data() + header().directory_offset +
                                                        uint64_t{i} * layout::kDescriptorSize);
  }
};

class ReuseTest : public test::ProcessTest {
 protected:
  ReuseTest() : ProcessTest(kMetrics, 1 << 12) {}

  // Fills every descriptor with fill_total{k=i} from a child that then exits (the
  // test process itself never registers: its own record would hold every series).
  void Fill() {
    const std::string name = guard_.name();
    pid_t pid = children_.Fork([&] {
      Segment s = Segment::Open(name);
      for (int i = 0; i < kMetrics; ++i) s.RegisterCounter(Spec("fill_total", i));
      return 0;
    });
    auto status = children_.Wait(pid, seconds(60));
    ASSERT_TRUE(status && test::ExitedCleanly(*status));
    ASSERT_EQ(segment_->Info().descriptors_used, static_cast<uint32_t>(kMetrics));
  }

  // Deletes fill_total{k=i}; returns its descriptor index, and waits until a
  // process started now is seen as started after the deletion (two ticks later).
  uint32_t DeleteOne(int i) {
    uint32_t index = ~0u;
    for (const MetricSnapshot& m : segment_->Delete([i](const MetricSnapshot& m) {
           return m.name == "fill_total" && m.labels[0].second == std::to_string(i);
         }))
      index = m.index;
    const uint64_t deleted = Segment::DeletionMark();
    EXPECT_TRUE(test::WaitUntil([&] { return Segment::DeletionMark() > deleted + 2; }, seconds(5)));
    return index;
  }

  // Registers next_total{k=i} in a new process, records `add` into it; returns
  // its descriptor index + 1, or 0 if the registration was refused as kFull.
  int RegisterOther(int i, uint64_t add) {
    const std::string name = guard_.name();
    flags_[100].store(0);
    pid_t pid = children_.Fork([&] {
      Segment s = Segment::Open(name);
      try {
        Counter c = s.RegisterCounter(Spec("next_total", i));
        c.Inc(add);
      } catch (const Error& e) {
        return e.code() == Errc::kFull ? 0 : 3;
      }
      for (const MetricSnapshot& m : s.Read().metrics)
        if (m.name == "next_total" && m.labels[0].second == std::to_string(i))
          flags_[100].store(m.index + 1);
      return 0;
    });
    auto status = children_.Wait(pid, seconds(60));
    EXPECT_TRUE(status && test::ExitedCleanly(*status));
    return static_cast<int>(flags_[100].load());
  }
};

// The shared-lock rule: a registrant forks a child that keeps its handle, and exits.
// While that child lives nothing is written into the deleted room (a new key is
// refused); once it has exited the new key takes the room, and what the stale
// handle recorded never shows in the new series.
TEST_F(ReuseTest, ADeletedRoomGoesToAnotherKeyOnlyOnceEveryHolderExited) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);  // the orphaned holder is ours to reap
  Fill();
  const std::string name = guard_.name();
  const pid_t parent = children_.Fork([&] {
    Segment s = Segment::Open(name);
    Counter held = s.RegisterCounter(Spec("fill_total", 0));
    held.Inc(1);
    const pid_t holder = ::fork();
    if (holder < 0) return 2;
    if (holder == 0) {  // keeps `held`, inherited, after its parent exits
      flags_[2].store(1);
      bool ok = test::WaitUntil([&] { return flags_[1].load() == 1; }, seconds(60));
      held.Inc(10);  // its series is deleted now
      flags_[2].store(2);
      ok = ok && test::WaitUntil([&] { return flags_[1].load() == 2; }, seconds(60));
      held.Inc(100);
      _exit(ok ? 0 : 4);
    }
    flags_[3].store(static_cast<uint64_t>(holder));
    return test::WaitUntil([&] { return flags_[2].load() == 1; }, seconds(60)) ? 0 : 5;
  });
  auto status = children_.Wait(parent, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  const auto holder = static_cast<pid_t>(flags_[3].load());
  ASSERT_GT(holder, 0);

  const uint32_t index = DeleteOne(0);
  ASSERT_LT(index, static_cast<uint32_t>(kMetrics));
  const std::string before(reinterpret_cast<const char*>(&Raw(name).descriptor(index)),
                           layout::kDescriptorSize);
  EXPECT_EQ(RegisterOther(0, 5), 0) << "a new key took the room of a series still held";
  flags_[1].store(1);
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[2].load() == 2; }, seconds(60)));
  EXPECT_EQ(RegisterOther(0, 5), 0);
  // Nothing was written into the deleted room (its descriptor is as the delete left it).
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&Raw(name).descriptor(index)),
                        layout::kDescriptorSize),
            before);

  flags_[1].store(2);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(holder, &wstatus, 0), holder);
  ASSERT_TRUE(test::ExitedCleanly(wstatus)) << test::DescribeStatus(wstatus);

  EXPECT_EQ(RegisterOther(0, 5), static_cast<int>(index) + 1) << "the room was not reused";
  Snapshot snap = segment_->Read();
  ASSERT_TRUE(snap.problems.empty()) << snap.problems[0];
  ASSERT_EQ(snap.metrics.size(), static_cast<size_t>(kMetrics));
  for (const MetricSnapshot& m : snap.metrics) {
    if (m.name == "next_total") {
      EXPECT_EQ(m.index, index);
      EXPECT_EQ(m.counter, 5u);  // none of the stale handle's 111
      EXPECT_EQ(m.generation, 1u);
    } else {
      EXPECT_EQ(m.name, "fill_total");
      EXPECT_NE(m.labels[0].second, "0");
      EXPECT_EQ(m.counter, 0u);
    }
  }
  EXPECT_EQ(Raw(name).header().refilled.load(), 1u);
  // The old key's entry is a tombstone: the old key is a new series now (refused in
  // a full segment), never linked to its former room.
  const pid_t again = children_.Fork([&] {
    Segment s = Segment::Open(name);
    try {
      s.RegisterCounter(Spec("fill_total", 0));
    } catch (const Error& e) {
      return e.code() == Errc::kFull ? 0 : 3;
    }
    return 6;
  });
  status = children_.Wait(again, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
}

// A recordless registrant (statsctl's one-shot commands) and a reset under way each
// block reuse while they last.
TEST_F(ReuseTest, ARecordlessRegistrantOrAResetUnderWayBlocksReuse) {
  Fill();
  const std::string name = guard_.name();
  const uint32_t first = DeleteOne(0);
  const pid_t recordless = children_.Fork([&] {
    Segment s = Segment::Open(name);
    s.ForgoProducerRecord();
    s.RegisterCounter(Spec("fill_total", 1)).Inc();
    flags_[1].store(1);
    return test::WaitUntil([&] { return flags_[2].load() == 1; }, seconds(60)) ? 0 : 2;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[1].load() == 1; }, seconds(60)));
  EXPECT_EQ(RegisterOther(0, 1), 0);
  flags_[2].store(1);
  auto status = children_.Wait(recordless, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
  EXPECT_EQ(RegisterOther(0, 1), static_cast<int>(first) + 1);

  const uint32_t second = DeleteOne(2);
  const pid_t resetter = children_.Fork([&] {
    Segment s = Segment::Open(name);
    s.Reset([&](const MetricSnapshot&) {
      flags_[3].store(1);  // under way: wait in its selection
      test::WaitUntil([&] { return flags_[4].load() == 1; }, seconds(60));
      return false;
    });
    return 0;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[3].load() == 1; }, seconds(60)));
  EXPECT_EQ(RegisterOther(1, 1), 0);
  flags_[4].store(1);
  status = children_.Wait(resetter, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
  EXPECT_EQ(RegisterOther(1, 1), static_cast<int>(second) + 1);
  EXPECT_TRUE(segment_->Read().problems.empty());
}

}  // namespace
}  // namespace shmstats
