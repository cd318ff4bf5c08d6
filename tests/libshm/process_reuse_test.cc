// SPDX-License-Identifier: Apache-2.0
// A deleted series' room given to another key (libshm/src/reuse.h): never while a
// process that could hold a handle to it lives (a forked child of a registrant, a
// recordless registrant, a reset under way), always once none can; under load with
// producers that drop their handles, readers never show a deleted or half-refilled
// series and the survivors' totals stay exact.

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
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
      return flags_[100].load() != 0 ? 0 : 8;  // 8: registered, not shown
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
  EXPECT_EQ(Segment::Open(name, Access::kReadOnly).Info().refilled_total, 1u);
  {
    const Raw raw(name);
    const layout::Header& h = raw.header();
    uint32_t tombstones = 0;
    for (uint32_t i = 0; i < h.index_entries; ++i)
      tombstones += *reinterpret_cast<const uint64_t*>(raw.bytes.data() + h.series_index_offset +
                                                       i * 8ull) == 0xffffffff00000000ull;
    EXPECT_EQ(tombstones, 1u) << "the old key's entry is not a tombstone";
  }
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

// A recordless process (statsctl's one-shot commands) holds no handle at its first
// registration: its own announcement does not stop that registration taking a deleted
// room. A child forked after the announcement shares it: the parent's handle to a
// series deleted since keeps the child's first registration out of that room, and
// the child's keeps the parent's out.
TEST_F(ReuseTest, ARecordlessFirstRegistrationTakesARoomUnlessItsAnnouncementIsShared) {
  Fill();
  const std::string name = guard_.name();
  const uint32_t first = DeleteOne(0);
  const pid_t one_shot = children_.Fork([&] {
    Segment s = Segment::Open(name);
    s.ForgoProducerRecord();
    s.RegisterCounter(Spec("next_total", 0)).Inc();
    for (const MetricSnapshot& m : s.Read().metrics)
      if (m.name == "next_total") flags_[1].store(m.index + 1);
    return 0;
  });
  auto status = children_.Wait(one_shot, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  EXPECT_EQ(flags_[1].load(), uint64_t{first} + 1);

  const pid_t parent = children_.Fork([&] {
    Segment s = Segment::Open(name);
    s.ForgoProducerRecord();
    const pid_t child = ::fork();  // shares s, and the announcement's description
    if (child < 0) return 2;
    if (child == 0) {
      if (!test::WaitUntil([&] { return flags_[3].load() == 1; }, seconds(60))) _exit(3);
      s.ForgoProducerRecord();  // no record of its own either: the shared announcement
      try {
        s.RegisterCounter(Spec("next_total", 1)).Inc(100);
        _exit(4);  // took the room the parent's handle still writes into
      } catch (const Error& e) {
        _exit(e.code() == Errc::kFull ? 0 : 5);
      }
    }
    Counter kept = s.RegisterCounter(Spec("fill_total", 1));
    flags_[2].store(1);
    int wstatus = 0;
    if (::waitpid(child, &wstatus, 0) != child || !test::ExitedCleanly(wstatus))
      return WIFEXITED(wstatus) ? 10 + WEXITSTATUS(wstatus) : 6;
    kept.Inc(5);  // the stale handle, into its deleted room
    return 0;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[2].load() == 1; }, seconds(60)));
  const uint32_t second = DeleteOne(1);
  flags_[3].store(1);
  status = children_.Wait(parent, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  // Both gone: the room goes to the next key, without the stale handle's records.
  EXPECT_EQ(RegisterOther(1, 1), static_cast<int>(second) + 1);
  for (const MetricSnapshot& m : segment_->Read().metrics)
    if (m.name == "next_total" && m.labels[0].second == "1") {
      EXPECT_EQ(m.counter, 1u);
    }

  // The other way round: the child keeps a handle, and the parent's first
  // registration stays out of its deleted room.
  const pid_t forker = children_.Fork([&] {
    Segment s = Segment::Open(name);
    s.ForgoProducerRecord();
    const pid_t child = ::fork();
    if (child < 0) return 2;
    if (child == 0) {
      s.ForgoProducerRecord();
      Counter kept = s.RegisterCounter(Spec("fill_total", 2));
      flags_[4].store(1);
      if (!test::WaitUntil([&] { return flags_[6].load() == 1; }, seconds(60))) _exit(3);
      kept.Inc(5);
      _exit(0);
    }
    if (!test::WaitUntil([&] { return flags_[5].load() == 1; }, seconds(60))) return 3;
    int took = 0;
    try {
      s.RegisterCounter(Spec("next_total", 2)).Inc(100);
      took = 4;
    } catch (const Error& e) {
      if (e.code() != Errc::kFull) took = 5;
    }
    flags_[6].store(1);
    int wstatus = 0;
    if (::waitpid(child, &wstatus, 0) != child || !test::ExitedCleanly(wstatus)) return 6;
    return took;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[4].load() == 1; }, seconds(60)));
  const uint32_t third = DeleteOne(2);
  flags_[5].store(1);
  status = children_.Wait(forker, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  EXPECT_EQ(RegisterOther(2, 1), static_cast<int>(third) + 1);
}

// A producer that could not read its /proc entry records a boot-clock token as its
// start (far above any clock tick): its start is unknown, so it holds every deleted
// series while its owner lock is held (here by the test, as a child that inherited
// the lock would), and none once the lock is gone.
TEST_F(ReuseTest, AProducerWhoseStartIsABootClockTokenHoldsEveryDeletedSeries) {
  Fill();
  const std::string name = guard_.name();
  const uint32_t index = DeleteOne(0);
  const int fd = ::open(("/dev/shm/" + name).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const size_t size = static_cast<size_t>(::lseek(fd, 0, SEEK_END));
  void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto& header = *static_cast<layout::Header*>(map);
  ASSERT_NE(header.producer_table_offset, 0u);
  layout::ProducerRecord* filler = nullptr;
  for (uint64_t i = 0; i < header.producers_used.load(); ++i) {
    auto* r = reinterpret_cast<layout::ProducerRecord*>(
        static_cast<char*>(map) + header.producer_table_offset + i * layout::kProducerRecordSize);
    if (layout::ProducerPhaseOf(r->state.load()) == layout::kProducerAttached) filler = r;
  }
  ASSERT_NE(filler, nullptr);
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  const uint64_t token =
      (static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec)) | 1u;
  filler->start = token;
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = process::OwnerLockOffset({filler->pid, token});
  lock.l_len = 1;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &lock), 0);
  EXPECT_EQ(RegisterOther(0, 1), 0) << "a new key took the room a token-start producer holds";
  lock.l_type = F_UNLCK;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &lock), 0);
  EXPECT_EQ(RegisterOther(0, 1), static_cast<int>(index) + 1);
  ::munmap(map, size);
  ::close(fd);
}

// A producer whose owner lock was refused (here: its segment's path was moved away
// when it registered) could fork children that hold its handles unseen: from then on
// no deleted room goes to another key in that segment, even after it exited.
TEST_F(ReuseTest, AProducerWithoutItsOwnerLockTurnsReuseOff) {
  Fill();
  const std::string name = guard_.name();
  const std::string path = "/dev/shm/" + name;
  const pid_t unlocked = children_.Fork([&] {
    Segment s = Segment::Open(name);
    flags_[1].store(1);
    if (!test::WaitUntil([&] { return flags_[2].load() == 1; }, seconds(60))) return 2;
    s.RegisterCounter(Spec("fill_total", 1)).Inc();
    return 0;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[1].load() == 1; }, seconds(60)));
  ASSERT_EQ(::rename(path.c_str(), (path + ".moved").c_str()), 0);
  flags_[2].store(1);
  auto status = children_.Wait(unlocked, seconds(60));
  ASSERT_EQ(::rename((path + ".moved").c_str(), path.c_str()), 0);
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
  EXPECT_EQ(Raw(name).header().reuse_flags.load(), layout::kReuseRecords | layout::kReuseOff);
  DeleteOne(0);
  EXPECT_EQ(RegisterOther(0, 1), 0) << "a new key took a room in a segment with reuse off";
}

// A segment made by an older build has no kReuseRecords (its producer records may
// hold job bytes where dropped_before is): its deleted rooms never go to another key.
TEST_F(ReuseTest, ASegmentMadeWithoutTheRecordsFlagNeverReuses) {
  Fill();
  const std::string name = guard_.name();
  DeleteOne(0);
  const int fd = ::open(("/dev/shm/" + name).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto& header = *static_cast<layout::Header*>(map);
  ASSERT_EQ(header.reuse_flags.load(), layout::kReuseRecords);
  header.reuse_flags.store(0);
  EXPECT_EQ(RegisterOther(0, 1), 0) << "a segment of an older build reused a room";
  ::munmap(map, 4096);
  ::close(fd);
}

// A reset under way in a forked child that shares its parent's Segment (one open
// file description for both) blocks the parent's reuse, and the parent's reuse runs
// once the child's reset is over.
TEST_F(ReuseTest, AResetInAForkedChildSharingTheSegmentBlocksTheParentsReuse) {
  Fill();
  const std::string name = guard_.name();
  const uint32_t index = DeleteOne(0);
  const pid_t parent = children_.Fork([&] {  // started after the deletion: holds nothing
    Segment s = Segment::Open(name);
    const pid_t resetter = ::fork();
    if (resetter < 0) return 2;
    if (resetter == 0) {
      s.Reset([&](const MetricSnapshot&) {
        flags_[1].store(1);  // under way: wait in its selection
        test::WaitUntil([&] { return flags_[2].load() == 1; }, seconds(60));
        return false;
      });
      _exit(0);
    }
    if (!test::WaitUntil([&] { return flags_[1].load() == 1; }, seconds(60))) return 3;
    int during = 0;
    try {
      s.RegisterCounter(Spec("next_total", 0));
      during = 4;  // took the room while the child's reset ran
    } catch (const Error& e) {
      if (e.code() != Errc::kFull) return 5;
    }
    flags_[2].store(1);
    int wstatus = 0;
    if (::waitpid(resetter, &wstatus, 0) != resetter || !test::ExitedCleanly(wstatus)) return 6;
    if (during != 0) return during;
    // Again once the miss of the refused search has expired (reuse.cc).
    const bool taken = test::WaitUntil(
        [&] {
          try {
            s.RegisterCounter(Spec("next_total", 0)).Inc();
            return true;
          } catch (const Error&) {
            return false;
          }
        },
        seconds(60));
    if (!taken) return 7;
    for (const MetricSnapshot& m : s.Read().metrics)
      if (m.name == "next_total") flags_[3].store(m.index + 1);
    return 0;
  });
  auto status = children_.Wait(parent, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  EXPECT_EQ(flags_[3].load(), uint64_t{index} + 1);
}

// A refused search for a key too large for every deleted room does not stop a smaller
// key that fits from taking one at once (the miss is kept per size).
TEST_F(ReuseTest, AMissForALargeKeyLeavesASmallerKeyFree) {
  Fill();
  const std::string name = guard_.name();
  const uint32_t index = DeleteOne(0);
  const pid_t pid = children_.Fork([&] {
    Segment s = Segment::Open(name);
    try {
      s.RegisterCounter({"next_total", {{"k", std::string(200, 'x')}}, "reuse test", ""});
      return 2;  // no deleted room has 200 more string bytes
    } catch (const Error& e) {
      if (e.code() != Errc::kFull) return 3;
    }
    s.RegisterCounter(Spec("next_total", 0)).Inc();
    for (const MetricSnapshot& m : s.Read().metrics)
      if (m.name == "next_total") flags_[1].store(m.index + 1);
    return 0;
  });
  auto status = children_.Wait(pid, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  EXPECT_EQ(flags_[1].load(), uint64_t{index} + 1);
}

// What the raw segment must hold after any crash: known gone phases (a refill under
// a dead actor is finished or taken over by the next registrant or reuser); every
// index entry free, a tombstone, or linking a descriptor that names the entry's key
// (tag), no descriptor and no published key linked twice; a reader shows each key once, with no
// problem; family counts never below the series they count.
void CheckConsistent(const std::string& name) {
  Segment s = Segment::Open(name, Access::kReadOnly);
  Snapshot snap = s.Read();
  ASSERT_TRUE(snap.problems.empty()) << snap.problems[0];
  std::set<std::string> shown;
  for (const MetricSnapshot& m : snap.metrics) {
    std::string key = m.name;
    for (const auto& [k, v] : m.labels) key += "," + k + "=" + v;
    ASSERT_TRUE(shown.insert(key).second) << key << " shown twice";
  }
  const Raw raw(name);
  const layout::Header& h = raw.header();
  const uint64_t used = std::min<uint64_t>(h.series_used.load(), h.max_metrics);
  std::map<uint32_t, uint32_t> present;  // family slot -> present series
  for (uint32_t i = 0; i < used; ++i) {
    const layout::Descriptor& d = raw.descriptor(i);
    const uint64_t gone = d.gone.load();
    // A refill publishes the new key's state only after its gone word is present.
    if (layout::GonePhaseOf(gone) == layout::kGoneRefilling) {
      ASSERT_NE(d.state.load() & layout::kStateMask, layout::kPublished) << "descriptor " << i;
    }
    if ((d.state.load() & layout::kStateMask) == layout::kPublished &&
        layout::GonePhaseOf(gone) == layout::kPresent && d.family_slot != 0)
      ++present[d.family_slot - 1];
  }
  std::set<uint32_t> linked;
  std::set<uint64_t> linked_keys;  // key hashes of linked published series
  for (uint32_t i = 0; i < h.index_entries; ++i) {
    const uint64_t e =
        *reinterpret_cast<const uint64_t*>(raw.bytes.data() + h.series_index_offset + i * 8ull);
    if (e == 0 || e == 0xffffffff00000000ull) continue;
    const auto link = static_cast<uint32_t>(e);
    ASSERT_TRUE(link >= 1 && link <= used) << "entry " << i;
    ASSERT_TRUE(linked.insert(link - 1).second) << "descriptor " << link - 1 << " linked twice";
    const uint64_t state = raw.descriptor(link - 1).state.load();
    ASSERT_EQ(e >> 32, layout::IndexTag(state & layout::kHashMask)) << "entry " << i;
    if ((state & layout::kStateMask) == layout::kPublished) {
      ASSERT_TRUE(linked_keys.insert(state & layout::kHashMask).second)
          << "key of descriptor " << link - 1 << " linked twice";
    }
  }
  for (auto [slot, n] : present) {
    const auto& f = *reinterpret_cast<const layout::FamilyRecord*>(
        raw.bytes.data() + h.family_table_offset + uint64_t{slot} * layout::kFamilyEntrySize);
    EXPECT_GE(f.series.load(), n) << "family at " << slot;
  }
}

// Keys of one name with labels of one length: any deleted room fits any of them.
MetricSpec Padded(const std::string& name, int i) {
  return {name, {{"k", fmt::format("{:02}", i)}}, "reuse test", ""};
}

constexpr int kKeys = 12;  // per family: churn_total and other_total, 2 x kKeys > kMetrics

// 200 rounds of a producer SIGKILLed at a random moment while it deletes series,
// registers them again and registers other keys into their room: the segment stays
// consistent, and the next registrations finish or take over any refill left midway.
TEST_F(ReuseTest, SigkillDuringDeleteAndRefillLeavesItConsistent) {
  constexpr int kRounds = 200;
  constexpr uint64_t kMaxRefills = 300;  // each leaves a tombstone: the index has 512 entries
  std::mt19937 rng(20261207);
  const std::string name = guard_.name();
  for (int round = 0; round < kRounds; ++round) {
    flags_[0].store(0);
    const uint32_t seed = rng();
    pid_t pid = children_.Fork([&, seed] {
      Segment s = Segment::Open(name);
      int fd = ::open(("/dev/shm/" + name).c_str(), O_RDONLY | O_CLOEXEC);
      void* map = fd < 0 ? MAP_FAILED : ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
      if (map == MAP_FAILED) return 2;
      const auto& header = *static_cast<const layout::Header*>(map);
      std::mt19937 r(seed);
      // The earlier rounds' deletions old enough for this child's declarations to
      // cover them (its own, within its few ms, are not).
      const uint64_t started = Segment::DeletionMark();
      if (!test::WaitUntil([&] { return Segment::DeletionMark() > started + 2; }, seconds(5)))
        return 4;
      flags_[0].store(1);
      for (uint64_t n = 0; n < 10'000'000; ++n) {  // until killed
        // No handle outlives an iteration: none is to a series deleted before now.
        s.DroppedDeletedBefore(Segment::DeletionMark());
        const int i = static_cast<int>(r() % kKeys);
        const char* family = r() % 2 ? "churn_total" : "other_total";
        if (r() % 2) {
          s.Delete([i, family](const MetricSnapshot& m) {
            return m.name == family && m.labels[0].second == fmt::format("{:02}", i);
          });
        } else if (header.refilled.load() < kMaxRefills) {
          try {
            s.RegisterCounter(Padded(family, i)).Inc();
          } catch (const Error& e) {
            if (e.code() != Errc::kFull) return 3;
          }
        }
      }
      return 0;
    });
    ASSERT_TRUE(test::WaitUntil([&] { return flags_[0].load() == 1; }, seconds(60)));
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 5000));  // the kill's moment
    children_.KillAndReap(pid);
    Snapshot snap = segment_->Read();
    ASSERT_TRUE(snap.problems.empty()) << "round " << round << ": " << snap.problems[0];
  }
  CheckConsistent(name);
  const uint64_t refilled = Raw(name).header().refilled.load();
  EXPECT_GT(refilled, 0u) << "no round gave a deleted room to another key";
  RecordProperty("refilled", static_cast<int>(refilled));
  // The next registrations finish what the kills left: every key registers (a
  // revival or a refill left midway is redone or rolled forward; a key with no room
  // left is refused), then every series is deleted, and then every churn key
  // registers again (its own room, or another's), is shown once and records exactly.
  pid_t pid = children_.Fork([&] {
    Segment s = Segment::Open(name);
    for (const char* family : {"churn_total", "other_total"})
      for (int i = 0; i < kKeys; ++i) try {
          s.RegisterCounter(Padded(family, i));
        } catch (const Error& e) {
          if (e.code() != Errc::kFull) throw;
        }
    s.Delete([](const MetricSnapshot&) { return true; });
    // A deletion whose deleter was killed before stamping it is stamped by the first
    // reuser that finds it, and then waits for that stamp to age: such a key may be
    // refused at first and register a few ticks later.
    for (int i = 0; i < kKeys; ++i) {
      std::string why;
      const bool registered = test::WaitUntil(
          [&] {
            const uint64_t mark = Segment::DeletionMark();
            test::WaitUntil([&] { return Segment::DeletionMark() > mark + 2; }, seconds(5));
            // It holds no handle to a deleted series (those above are not used again).
            s.DroppedDeletedBefore(Segment::DeletionMark());
            try {
              s.RegisterCounter(Padded("churn_total", i)).Inc();
              return true;
            } catch (const Error& e) {
              why = e.what();
              if (e.code() != Errc::kFull) throw;
            }
            return false;
          },
          seconds(10));
      if (!registered) {
        std::fprintf(stderr, "churn_total{k=%d}: %s\n", i, why.c_str());
        return 5;
      }
    }
    return 0;
  });
  auto status = children_.Wait(pid, seconds(60));
  ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  Snapshot snap = segment_->Read();
  ASSERT_EQ(snap.metrics.size(), static_cast<size_t>(kKeys));
  for (const MetricSnapshot& m : snap.metrics) {
    EXPECT_EQ(m.name, "churn_total");
    EXPECT_EQ(m.counter, 1u);
  }
  CheckConsistent(name);
}

// Four producers record into survivors and into series that are deleted and whose
// room goes to other keys (of another type, too) round after round; they drop their
// handles when deletions change and say so. A reader never sees a half-written or
// inconsistent series, and the survivors' totals are exact.
TEST_F(ReuseTest, UnderLoadReadersSeeOnlyWholeSeriesAndSurvivorsStayExact) {
  constexpr int kProducers = 4;
  constexpr int kSurvivors = 4;
  constexpr int kChurn = 4;          // keys per round
  constexpr uint64_t kRounds = 100;  // each reuse leaves a tombstone (512 index entries)
  constexpr uint64_t kMaxIterations = 2'000'000;
  constexpr size_t kRound = 200, kStop = 201;
  const std::string name = guard_.name();
  auto churn = [](uint64_t round, int j) {
    const bool counter = (round + j) % 2 == 0;
    return std::pair{counter,
                     MetricSpec{counter ? "churn_total" : "churn_gauge",
                                {{"j", std::to_string(j)}, {"r", fmt::format("{:06}", round)}},
                                "reuse test",
                                ""}};
  };
  std::vector<pid_t> pids;
  for (int p = 0; p < kProducers; ++p) {
    pids.push_back(children_.Fork([&, p] {
      Segment s = Segment::Open(name);
      std::vector<Counter> kept;
      for (int i = 0; i < kSurvivors; ++i) kept.push_back(s.RegisterCounter(Spec("kept_total", i)));
      uint64_t deletions = s.Deletions(), round = ~0ull;
      std::vector<Counter> counters;
      std::vector<Gauge> gauges;
      uint64_t n = 0;
      for (; n < kMaxIterations && flags_[kStop].load() == 0; ++n) {
        const uint64_t mark = Segment::DeletionMark();
        if (s.Deletions() != deletions) {
          deletions = s.Deletions();
          counters.clear();
          gauges.clear();
          round = ~0ull;
        }
        s.DroppedDeletedBefore(mark);
        if (const uint64_t now = flags_[kRound].load(); now != round) {
          round = now;
          counters.clear();
          gauges.clear();
          for (int j = 0; j < kChurn; ++j) try {
              auto [counter, spec] = churn(round, j);
              if (counter)
                counters.push_back(s.RegisterCounter(spec));
              else
                gauges.push_back(s.RegisterGauge(spec));
            } catch (const Error& e) {
              if (e.code() != Errc::kFull) return 3;
            }
        }
        for (Counter& c : kept) c.Inc();
        for (Counter& c : counters) c.Inc();
        for (Gauge& g : gauges) g.Set(7);
      }
      flags_[p].store(n);
      return 0;
    }));
  }
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::string bad;
  std::thread reader([&] {
    while (!done.load() && bad.empty()) {
      Snapshot snap = segment_->Read();
      if (!snap.problems.empty()) bad = snap.problems[0];
      for (const MetricSnapshot& m : snap.metrics) {
        const bool ok =
            m.name == "kept_total"    ? m.type == MetricType::kCounter && m.labels.size() == 1
            : m.name == "churn_total" ? m.type == MetricType::kCounter && m.labels.size() == 2 &&
                                            m.counter <= kProducers * kMaxIterations
            : m.name == "churn_gauge" ? m.type == MetricType::kGauge && m.labels.size() == 2 &&
                                            (m.gauge == 0 || m.gauge == 7)
                                      : false;
        if (!ok && bad.empty()) bad = "inconsistent series " + m.name;
      }
      reads.fetch_add(1);
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  for (uint64_t round = 1; round <= kRounds && std::chrono::steady_clock::now() < deadline;
       ++round) {
    flags_[kRound].store(round);
    segment_->Delete([round](const MetricSnapshot& m) {
      return m.name != "kept_total" && m.labels.size() == 2 &&
             m.labels[1].second < fmt::format("{:06}", round);
    });
    // The next round's keys may take this round's room once its deletions are old
    // enough for a producer's declaration to cover them.
    const uint64_t mark = Segment::DeletionMark();
    test::WaitUntil([&] { return Segment::DeletionMark() > mark + 2; }, seconds(5));
  }
  flags_[kStop].store(1);
  for (pid_t pid : pids) {
    auto status = children_.Wait(pid, seconds(120));
    ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(bad, "");
  EXPECT_GT(reads.load(), 0u);
  uint64_t total = 0;
  for (int p = 0; p < kProducers; ++p) total += flags_[p].load();
  Snapshot snap = segment_->Read();
  int kept = 0;
  for (const MetricSnapshot& m : snap.metrics)
    if (m.name == "kept_total") {
      EXPECT_EQ(m.counter, total) << m.labels[0].second;
      ++kept;
    }
  EXPECT_EQ(kept, kSurvivors);
  EXPECT_GT(Raw(name).header().refilled.load(), 0u);
  CheckConsistent(name);
}

}  // namespace
}  // namespace shmstats
