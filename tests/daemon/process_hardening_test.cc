// SPDX-License-Identifier: Apache-2.0
// Hardening against a hostile local user, with the real shmstatsd and statsctl: a segment
// truncated under them, a segment corrupted on every tick (bounded log), a segment
// planted by another user, symlinks planted in the state directory, and a state
// directory that other users may write.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "daemon_harness.h"

namespace shmstats::testing {
namespace {

size_t CountLines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Runs a shell command; returns its exit status and output (stdout and stderr).
std::pair<int, std::string> Shell(const std::string& cmd, const TempDir& dir) {
  int rc = std::system(("(" + cmd + ") >" + (dir / "shell.out") + " 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ReadFile(dir / "shell.out")};
}

TEST(HardeningTest, TruncatedSegmentIsReportedAndReattachedByShmstatsdAndWatch) {
  ScopedSegmentName seg(UniqueName("trunc"));
  TempDir dir;
  std::string path = "/dev/shm/" + seg.str();
  {
    auto s = Segment::Create(seg.str(), Small());
    s.RegisterCounter({"before_total", {}, "", ""}).Inc(3);
  }
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  Child watch(
      {STATSCTL_PATH, "--segment", seg.str(), "watch", "--interval", "0.2", "--count", "75"},
      dir / "watch.log");
  ASSERT_TRUE(WaitFor([&] { return watch.Log().find("before_total") != std::string::npos; }));
  ASSERT_TRUE(d.AwaitTicks(1));

  ASSERT_EQ(truncate(path.c_str(), 4096), 0);
  ASSERT_TRUE(WaitFor([&] { return d.child().Log().find("truncated") != std::string::npos; }))
      << d.child().Log();
  ASSERT_TRUE(WaitFor([&] { return watch.Log().find("truncated") != std::string::npos; }))
      << watch.Log();
  // Both keep running, and the daemon keeps serving.
  EXPECT_FALSE(d.child().Exited().has_value());
  EXPECT_FALSE(watch.Exited().has_value());
  // ...and /healthz says that the segment is not being collected.
  EXPECT_EQ(Get(d.port(), "/healthz").status, 503);
  EXPECT_EQ(Get(d.port(), "/metrics").status, 200);

  // A valid segment back under the same name: both re-attach.
  Segment::Remove(seg.str());
  auto back = Segment::Create(seg.str(), Small());
  back.RegisterCounter({"after_total", {}, "", ""}).Inc(7);
  EXPECT_TRUE(WaitFor([&] {
    return Get(d.port(), "/metrics").body.find("after_total 7") != std::string::npos;
  })) << d.child().Log();
  EXPECT_TRUE(WaitFor([&] { return watch.Log().find("after_total") != std::string::npos; }))
      << watch.Log();
  EXPECT_EQ(watch.Wait(), 0) << watch.Log();
  EXPECT_EQ(d.child().Stop(), 0) << d.child().Log();
}

TEST(HardeningTest, SegmentCorruptedEveryTickLogsABoundedNumberOfLines) {
  ScopedSegmentName seg(UniqueName("corrupt"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  for (int i = 0; i < 50; ++i) {
    s.RegisterCounter({"corrupt_me_total", {{"i", std::to_string(i)}}, "", ""}).Inc();
  }
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  // Before each of 6 ticks, flip the first letter of every copy of the name: 50 bad
  // descriptors a tick, whatever the segment's layout; each round waits for the tick
  // that reads it.
  std::string path = "/dev/shm/" + seg.str();
  const std::string name = "corrupt_me_total";
  for (int round = 0; round < 6; ++round) {
    std::string bytes = ReadFile(path);
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    for (size_t at = bytes.find(name.substr(1)); at != std::string::npos;
         at = bytes.find(name.substr(1), at + 1)) {
      char c = round % 2 ? '8' : '9';  // names never start with a digit
      if (at > 0) {
        ASSERT_EQ(pwrite(fd, &c, 1, static_cast<off_t>(at - 1)), 1);
      }
    }
    close(fd);
    ASSERT_TRUE(d.AwaitTicks(1)) << d.child().Log();
  }
  std::string log = d.child().Log();
  size_t lines = CountLines(log, "\n");
  std::printf("shmstatsd log lines over 6 ticks of corruption: %zu\n", lines);
  EXPECT_GE(CountLines(log, "segment: descriptor"), 1u) << log;
  EXPECT_LE(CountLines(log, "segment: descriptor"), 1u) << log;
  EXPECT_LE(lines, 10u) << log;
  EXPECT_EQ(d.child().Stop(), 0);
}

TEST(HardeningTest, SegmentPlantedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to act as nobody through setpriv";
  ScopedSegmentName seg(UniqueName("planted"));
  TempDir dir;
  std::string nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  // statsctl will not create a segment that others may write...
  auto [rc, out] =
      Shell(std::string(STATSCTL_PATH) + " --segment " + seg.str() + " create --mode 0666", dir);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("mode 0666 lets users outside the segment's group write it"),
            std::string::npos)
      << out;
  // ...but a hostile user makes one anyway.
  std::tie(rc, out) =
      Shell(nobody + STATSCTL_PATH " --segment " + seg.str() + " create --mode 0644 && " + nobody +
                "chmod 0666 /dev/shm/" + seg.str(),
            dir);
  ASSERT_EQ(rc, 0) << out;
  // statsctl as root: refused with the documented error (exit 3).
  std::tie(rc, out) =
      Shell(std::string(STATSCTL_PATH) + " --segment " + seg.str() + " inc x_total", dir);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("is owned by nobody (uid 65534)"), std::string::npos) << out;
  EXPECT_NE(out.find("SHMSTATS_SEGMENT_OWNER"), std::string::npos) << out;
  std::tie(rc, out) = Shell(std::string(STATSCTL_PATH) + " --segment " + seg.str() + " list", dir);
  EXPECT_EQ(rc, 3) << out;
  // A producer (this process, as root): refused too.
  try {
    Segment::Open(seg.str());
    ADD_FAILURE() << "opened a segment planted by nobody";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kPermission);
    EXPECT_NE(std::string(e.what()).find("owned by nobody"), std::string::npos) << e.what();
  }
  // Trusting that user explicitly lets it through to the mode check: 0666 is refused.
  std::tie(rc, out) = Shell(
      "SHMSTATS_SEGMENT_OWNER=nobody " STATSCTL_PATH " --segment " + seg.str() + " list", dir);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("has mode 0666: users outside its group may write it"), std::string::npos)
      << out;
  // Its own segment, once made 0644 by its owner, is accepted and shown with owner and mode.
  ASSERT_EQ(chmod(("/dev/shm/" + seg.str()).c_str(), 0644), 0);
  std::tie(rc, out) = Shell(
      "SHMSTATS_SEGMENT_OWNER=nobody " STATSCTL_PATH " --segment " + seg.str() + " info", dir);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("mode 0644, owner nobody"), std::string::npos) << out;
}

TEST(HardeningTest, SymlinksPlantedForEveryFileTheDaemonCreatesAreRefused) {
  ScopedSegmentName seg(UniqueName("links"));
  TempDir dir, elsewhere;
  auto s = Segment::Create(seg.str(), Small());
  s.RegisterCounter({"n_total", {}, "", ""}).Inc();
  std::string target = elsewhere / "precious";
  std::ofstream(target) << "precious\n";
  std::filesystem::remove(elsewhere / "ports");
  // The shell plants links named after its own pid, which exec keeps for shmstatsd.
  std::string script = "ln -s " + target + " " + (dir / "history.db.lock") + " && ln -s " + target +
                       " " + (dir / "stats.json.tmp.") + "$$ && ln -s " + target + " " +
                       (dir / "node.prom.tmp.") + "$$ && exec " SHMSTATSD_PATH " --segment " +
                       seg.str() + " --state-dir " + dir.str() + " --textfile " +
                       (dir / "node.prom") + " --interval 1s --listen 127.0.0.1:0 --port-file " +
                       (elsewhere / "ports");
  Child daemon({"/bin/sh", "-c", script}, elsewhere / "shmstatsd.log");
  int port = AwaitPort(elsewhere / "ports");
  ASSERT_NE(port, 0) << daemon.Log();
  ASSERT_TRUE(WaitFor([&] { return CountLines(daemon.Log(), "refusing") >= 3; })) << daemon.Log();
  EXPECT_NE(daemon.Log().find("history.db.lock"), std::string::npos);
  EXPECT_NE(daemon.Log().find("stats.json.tmp."), std::string::npos);
  EXPECT_NE(daemon.Log().find("node.prom.tmp."), std::string::npos);
  EXPECT_EQ(ReadFile(target), "precious\n");
  EXPECT_EQ(Get(port, "/metrics").status, 200);  // serving goes on
  EXPECT_EQ(daemon.Stop(), 0) << daemon.Log();
  EXPECT_EQ(ReadFile(target), "precious\n");
}

TEST(HardeningTest, StateDirectoryWritableByOthersIsRefused) {
  ScopedSegmentName seg(UniqueName("statedir"));
  TempDir dir;
  ASSERT_EQ(chmod(dir.str().c_str(), 0777), 0);
  Child daemon(
      {SHMSTATSD_PATH, "--segment", seg.str(), "--state-dir", dir.str(), "--listen", "127.0.0.1:0"},
      dir / "log");
  EXPECT_EQ(daemon.Wait(), 1);
  EXPECT_NE(daemon.Log().find("is writable by other users"), std::string::npos) << daemon.Log();
  EXPECT_NE(daemon.Log().find("chmod go-w"), std::string::npos) << daemon.Log();
}

// The bounds of /stats/history (400 with what to change), and what the server does
// with requests it will not serve.
TEST(HardeningTest, HistoryBoundsAndOversizedOrMisdirectedRequests) {
  ScopedSegmentName seg(UniqueName("bounds"));
  TempDir dir;
  SegmentOptions options;
  options.max_metrics = 700;
  options.max_slots = 1 << 14;
  auto s = Segment::Create(seg.str(), options);
  for (int i = 0; i < 600; ++i) {
    s.RegisterCounter(
        {"b_total", {{"i", std::to_string(i)}, {"half", std::to_string(i % 2)}}, "", ""});
  }
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  // Two ticks: the first is the counters' baseline, the second stores them.
  ASSERT_TRUE(d.AwaitTicks(2));
  auto r = Get(d.port(), "/stats/history?metric=b_total&from=-40d&step=1d");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("range longer than 31 days"), std::string::npos) << r.body;
  r = Get(d.port(), "/stats/history?metric=b_total&from=-1h");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("matches 600 series, more than 500"), std::string::npos) << r.body;
  r = Get(d.port(), "/stats/history?metric=b_total%7Bhalf%3D%221%22%7D&from=-24h&step=1m");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("300 series x 1441 steps is more than 250000 points"), std::string::npos)
      << r.body;
  r = Get(d.port(), "/stats/history?metric=b_total%7Bhalf%3D%221%22%7D&from=-1h&step=1m");
  EXPECT_EQ(r.status, 200) << r.body;
  // A header larger than the request limit: 431, then the connection is closed.
  r = Get(d.port(), "/healthz", {{"X-Big", std::string(70 * 1024, 'x')}});
  EXPECT_EQ(r.status, 431) << r.body;
  // A known path with another method: 405 naming the allowed one.
  r = Post(d.port(), "/metrics");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.body.find("use GET"), std::string::npos) << r.body;
  EXPECT_EQ(Get(d.port(), "/nowhere").status, 404);
  EXPECT_EQ(d.child().Stop(), 0) << d.child().Log();
}

}  // namespace
}  // namespace shmstats::testing
