// SPDX-License-Identifier: Apache-2.0
// shmstatsd as the packaged unit runs it: an unprivileged user that cannot see other
// users' /proc entries (ProtectProc=invisible). Here: nobody, in a mount namespace of
// its own with /proc mounted hidepid=invisible,subset=pid, ticking every 100 ms,
// and a producer of another user with a process-scoped counter. The producer's
// series stays live while it runs (totals exact after 20 ticks) and is folded once
// it is killed. Its process metrics are hidden from the daemon, and counted; its
// producer record says live, then exited.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "daemon_harness.h"
#include "other_user.h"
#include "shmstats/shmstats.h"

namespace shmstats::testing {
namespace {

constexpr uid_t kNobody = 65534;
constexpr uid_t kProducerUid = 64201;  // another user, with no /etc/passwd entry
constexpr gid_t kSegmentGid = 64200;   // the segment's group: both users are members
constexpr uint64_t kIncrements = 3000;

TEST(HiddenProcTest, DaemonAsNobodyKeepsAnotherUsersLiveSeriesAndFoldsItWhenDead) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: a mount namespace, setpriv and chown";
  ScopedSegmentName seg(UniqueName("hidepid"));
  {
    SegmentOptions o = Small();
    o.mode = 0660;
    o.group = kSegmentGid;
    Segment::Create(seg.str(), o);
  }
  TempDir dir;
  ASSERT_EQ(chown(dir.str().c_str(), kNobody, kNobody), 0);
  std::string listen;
  for (const std::string& arg : ListenAnyPort(dir / "ports")) listen += " " + arg;
  const std::string daemon = fmt::format(
      "mount -t proc -o hidepid=invisible,subset=pid proc /proc && exec setpriv "
      "--reuid={} --regid={} --groups={} --inh-caps=-all {} --segment {} "
      "--state-dir {} --interval 100ms{}",
      kNobody, kNobody, kSegmentGid, SHMSTATSD_PATH, seg.str(), dir.str(), listen);
  Child d({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", daemon},
          dir / "shmstatsd.log");
  const int port = AwaitPort(dir / "ports");
  ASSERT_NE(port, 0) << d.Log();
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/healthz").status != 0; }, 20)) << d.Log();
  auto ticks = [&] { return Scalar(Get(port, "/metrics").body, "shmstatsd_ticks_total"); };

  int done[2];
  ASSERT_EQ(pipe(done), 0);
  const pid_t producer = fork();
  ASSERT_GE(producer, 0);
  if (producer == 0) {
    if (!BecomeUser(kProducerUid, kSegmentGid)) _exit(10);
    try {
      Segment s = Segment::Open(seg.str());
      MetricSpec spec{"sandboxed_total", {}, "a producer of another user", ""};
      spec.scope = Scope::kProcess;
      Counter c = s.RegisterCounter(spec);
      // About 3 s: some 30 ticks see the series live and growing.
      for (uint64_t i = 0; i < kIncrements; ++i) {
        c.Inc();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (write(done[1], "x", 1) != 1) _exit(11);
      for (;;) pause();  // alive until SIGKILL
    } catch (const Error&) {
      _exit(12);
    }
  }
  close(done[1]);
  const double first = ticks();
  char byte = 0;
  ASSERT_EQ(read(done[0], &byte, 1), 1) << "the producer failed";
  close(done[0]);
  // 20 ticks with the producer alive and its counter complete.
  ASSERT_TRUE(WaitFor([&] { return ticks() >= first + 20; }, 60)) << d.Log();
  Segment reader = Segment::Open(seg.str(), Access::kReadOnly);
  SegmentInfo info = reader.Info();
  EXPECT_EQ(info.process_series_live, 1u);
  EXPECT_EQ(info.process_series_retired_total, 0u) << "the daemon folded a live producer";
  auto metrics = Get(port, "/metrics");
  EXPECT_EQ(Scalar(metrics.body, "sandboxed_total"), static_cast<double>(kIncrements));
  // Its process metrics are hidden from the daemon (counted, never guessed), yet its
  // producer record says live (the lock) and carries the activity the daemon saw.
  EXPECT_EQ(Scalar(metrics.body, "shmstatsd_process_metrics_hidden"), 1) << metrics.body;
  EXPECT_EQ(metrics.body.find(fmt::format("pid=\"{}\"", producer)), std::string::npos);
  EXPECT_GT(Scalar(metrics.body, "process_cpu_seconds_total"), -1);  // the daemon's own
  auto record = [&] {
    for (const auto& p : reader.Producers())
      if (p.pid == static_cast<uint32_t>(producer)) return std::optional(p);
    return std::optional<ProducerInfo>();
  };
  ASSERT_TRUE(record());
  EXPECT_TRUE(record()->alive);
  EXPECT_EQ(record()->uid, kProducerUid);
  EXPECT_GT(record()->last_activity_unix_ns, 0u);

  // Dead: the daemon folds it into the shared series, and the total stays exact.
  kill(producer, SIGKILL);
  waitpid(producer, nullptr, 0);
  ASSERT_TRUE(WaitFor([&] { return reader.Info().process_series_retired_total == 1; }, 30))
      << "shmstatsd did not fold the dead producer\n"
      << d.Log();
  info = reader.Info();
  EXPECT_EQ(info.process_series_live + info.process_series_dead, 0u);
  EXPECT_FALSE(record()->alive);
  EXPECT_EQ(Scalar(Get(port, "/metrics").body, "shmstatsd_process_metrics_hidden"), 0);
  const double after = ticks();
  ASSERT_TRUE(WaitFor([&] { return ticks() >= after + 2; }, 30));
  EXPECT_EQ(Scalar(Get(port, "/metrics").body, "sandboxed_total"),
            static_cast<double>(kIncrements));
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

}  // namespace
}  // namespace shmstats::testing
