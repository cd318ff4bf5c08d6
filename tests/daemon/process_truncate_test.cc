// SPDX-License-Identifier: Apache-2.0
// A member of the segment's group truncates and regrows it 200 times under a daemon
// ticking every 100 ms (the packaged mode 0660 lets any member do it): every reader
// of the segment in the daemon (tick, status line, retirement, /metrics) reports it
// and goes on, and the daemon re-attaches once the segment is whole again.

#include <fcntl.h>
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

constexpr uid_t kMemberUid = 64301;  // a member of the segment's group, not its owner
constexpr gid_t kSegmentGid = 64300;
constexpr int kCycles = 200;

TEST(TruncateTest, TwoHundredTruncationsByAGroupMemberLeaveTheDaemonRunningAndReattached) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to act as another member of the group";
  ScopedSegmentName seg(UniqueName("shrink"));
  const std::string path = "/dev/shm/" + seg.str();
  {
    SegmentOptions o = Small();
    o.mode = 0660;
    o.group = kSegmentGid;
    Segment s = Segment::Create(seg.str(), o);
    s.RegisterCounter({"shrink_total", {}, "", ""}).Inc(42);
    MetricSpec worker{"shrink_total", {}, "", ""};
    worker.scope = Scope::kProcess;
    s.RegisterCounter(worker).Inc(1);
  }
  const std::string whole = ReadFile(path);
  TempDir dir;
  std::vector<std::string> argv = {SHMSTATSD_PATH, "--segment",  seg.str(), "--state-dir",
                                   dir.str(),      "--interval", "100ms"};
  for (const std::string& arg : ListenAnyPort(dir / "ports")) argv.push_back(arg);
  Child d(argv, dir / "shmstatsd.log");
  const int port = AwaitPort(dir / "ports");
  ASSERT_NE(port, 0) << d.Log();
  ASSERT_TRUE(WaitFor([&] { return Scalar(Get(port, "/metrics").body, "shrink_total") == 43; }))
      << d.Log();

  // The member: shrinks the file to one page and grows it back, 200 times, with
  // scrapes of /metrics from here meanwhile.
  const pid_t member = fork();
  ASSERT_GE(member, 0);
  if (member == 0) {
    if (!BecomeUser(kMemberUid, kSegmentGid)) _exit(10);
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) _exit(11);
    for (int i = 0; i < kCycles; ++i) {
      if (ftruncate(fd, 4096) != 0) _exit(12);
      std::this_thread::sleep_for(std::chrono::milliseconds(i % 7));
      if (ftruncate(fd, static_cast<off_t>(whole.size())) != 0) _exit(13);
      std::this_thread::sleep_for(std::chrono::milliseconds(i % 11));
    }
    _exit(0);
  }
  int scrapes = 0;
  int status = 0;
  while (waitpid(member, &status, WNOHANG) == 0 && scrapes < 100'000) {
    Get(port, "/metrics");
    ++scrapes;
  }
  if (scrapes == 100'000) waitpid(member, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const std::optional<int> exited = d.Exited();
  ASSERT_FALSE(exited.has_value()) << "shmstatsd exited with " << *exited << "\n" << d.Log();

  // Whole again (what the owner would do: write its contents back): re-attached.
  {
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, whole.data(), whole.size(), 0), static_cast<ssize_t>(whole.size()));
    close(fd);
  }
  EXPECT_TRUE(WaitFor([&] { return Scalar(Get(port, "/metrics").body, "shrink_total") == 43; }))
      << d.Log();
  EXPECT_EQ(Get(port, "/healthz").status, 200);
  const std::string log = d.Log();
  EXPECT_NE(log.find("truncated"), std::string::npos) << log;
  // Detached when it found the segment short, and attached again.
  EXPECT_NE(log.find("attached segment"), log.rfind("attached segment")) << log;
  std::printf("%d truncations, %d scrapes meanwhile; the daemon lives\n", kCycles, scrapes);
  EXPECT_EQ(d.Stop(), 0) << log;
}

}  // namespace
}  // namespace shmstats::testing
