// SPDX-License-Identifier: Apache-2.0
// Liveness of process-scoped owners when /proc hides them: a reader running as
// another user, with /proc mounted hidepid=invisible in a mount namespace of its own
// (what systemd's ProtectProc=invisible gives shmstatsd), still sees a live owner's
// series as live (its owner lock on the segment file says so) and a killed owner's
// as dead.

#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "process_harness.h"
#include "process_identity.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::milliseconds;

constexpr uid_t kNobody = 65534;

MetricSpec ProcessSpec(std::string name) {
  MetricSpec spec{std::move(name), {}, "hidden /proc test", ""};
  spec.scope = Scope::kProcess;
  return spec;
}

const MetricSnapshot* Find(const Snapshot& snap, std::string_view name) {
  for (const MetricSnapshot& m : snap.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

// Flags shared with the children.
enum : size_t { kProducerReady, kOwnerPid, kReaderStep, kOwnerKilled, kLiveSeen, kDeadSeen };

class HiddenProcTest : public test::ProcessTest {
 protected:
  HiddenProcTest() : ProcessTest(64, 4096) {}
};

TEST_F(HiddenProcTest, OwnerOfAnotherUserIsAliveAndThenDeadWithoutItsProcEntry) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: a mount namespace and a switch to nobody";
  // Readable by nobody: others may read, nobody may write.
  ASSERT_EQ(chmod(("/dev/shm/" + guard_.name()).c_str(), 0644), 0);
  const std::string name = guard_.name();

  // The owner: root, so hidden from nobody under hidepid=invisible.
  const pid_t owner = children_.Fork([&] {
    Segment s = Segment::Open(name);
    s.RegisterCounter(ProcessSpec("hidden_total")).Inc(5);
    s.RegisterGauge(ProcessSpec("hidden_gauge")).Set(3);
    flags_[kProducerReady] = 1;
    for (;;) pause();  // until SIGKILL
    return 0;
  });
  ASSERT_TRUE(
      test::WaitUntil([&] { return flags_[kProducerReady].load() == 1; }, milliseconds(20000)));
  flags_[kOwnerPid] = static_cast<uint64_t>(owner);

  const pid_t reader = children_.Fork([&] {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") != 0)
      return 10;
    if (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
        setresuid(kNobody, kNobody, kNobody) != 0)
      return 11;
    // /proc hides the owner from us: the old test (its start time) cannot work.
    if (process::StartTime(static_cast<uint32_t>(flags_[kOwnerPid].load())) != 0) return 12;
    Segment s = Segment::Open(name, Access::kReadOnly);
    Snapshot snap = s.Read();
    const MetricSnapshot* c = Find(snap, "hidden_total");
    const MetricSnapshot* g = Find(snap, "hidden_gauge");
    SegmentInfo info = s.Info();
    if (c && c->counter == 5 && c->process_series == 1 && g && g->gauge == 3 &&
        info.process_series_live == 2 && info.process_series_dead == 0)
      flags_[kLiveSeen] = 1;
    flags_[kReaderStep] = 1;
    if (!test::WaitUntil([&] { return flags_[kOwnerKilled].load() == 1; }, milliseconds(20000)))
      return 13;
    snap = s.Read();
    c = Find(snap, "hidden_total");
    g = Find(snap, "hidden_gauge");
    info = s.Info();
    if (c && c->counter == 5 && (!g || g->gauge == 0) && info.process_series_live == 0 &&
        info.process_series_dead == 2)
      flags_[kDeadSeen] = 1;
    return 0;
  });
  ASSERT_TRUE(
      test::WaitUntil([&] { return flags_[kReaderStep].load() == 1; }, milliseconds(20000)));
  children_.KillAndReap(owner);
  flags_[kOwnerKilled] = 1;
  auto status = children_.Wait(reader, milliseconds(20000));
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  EXPECT_EQ(flags_[kLiveSeen].load(), 1u) << "the live owner was not seen live";
  EXPECT_EQ(flags_[kDeadSeen].load(), 1u) << "the killed owner was not seen dead";
}

// Without any lock (a reader that cannot tell), the fallback is /proc: our own
// series, owned by us, is live; a forked child's registration holds its own lock,
// not the parent's.
TEST_F(HiddenProcTest, AForkedChildTakesItsOwnLock) {
  segment_->RegisterCounter(ProcessSpec("parent_total")).Inc(1);
  const pid_t child = children_.Fork([&] {
    segment_->RegisterCounter(ProcessSpec("child_total")).Inc(2);
    flags_[kProducerReady] = 1;
    for (;;) pause();
    return 0;
  });
  ASSERT_TRUE(
      test::WaitUntil([&] { return flags_[kProducerReady].load() == 1; }, milliseconds(20000)));
  EXPECT_EQ(segment_->Info().process_series_live, 2u);
  children_.KillAndReap(child);
  SegmentInfo info = segment_->Info();
  EXPECT_EQ(info.process_series_live, 1u);
  EXPECT_EQ(info.process_series_dead, 1u);
  EXPECT_EQ(segment_->RetireExited(), 1u);
}

}  // namespace
}  // namespace shmstats
