// SPDX-License-Identifier: Apache-2.0
// The on-disk spool with the embedded SQLite store: ticks the store does not take
// wait in STATE_DIR/spool across a restart and are written once it is usable; the
// backlog is in /healthz and /metrics; sending it shows progress on stderr under a
// terminal (a pty from script(1)) and nothing when stderr is a file.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "daemon_harness.h"
#include "spool_helpers.h"

namespace shmstats::testing {
namespace {

TEST(SpoolTest, SqliteBacklogSurvivesARestartAndShowsProgressOnlyOnATerminal) {
  ScopedSegmentName seg(UniqueName("sp"));
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"n_total", {}, "", ""});
  TempDir tty_dir, file_dir;
  auto args = [](const TempDir& d) {
    return std::vector<std::string>{"--history-db", d / "blocked/history.db"};
  };
  for (const TempDir* d : {&tty_dir, &file_dir}) {
    std::ofstream(*d / "blocked") << "a file where the history directory should be";
  }
  {
    Daemon a(seg.str(), tty_dir, args(tty_dir)), b(seg.str(), file_dir, args(file_dir));
    ASSERT_TRUE(a.ready()) << a.child().Log();
    ASSERT_TRUE(b.ready()) << b.child().Log();
    ASSERT_TRUE(a.AwaitTicks(2) && b.AwaitTicks(2));
    c.Inc(5);
    ASSERT_TRUE(a.AwaitTicks(2) && b.AwaitTicks(2));
    auto h = Health(a.port());
    EXPECT_EQ(h["code"], 503) << h.dump();
    EXPECT_GE(h["backlog"]["ticks"].get<int>(), 3) << h.dump();
    EXPECT_GT(h["backlog"]["bytes"].get<int>(), 0) << h.dump();
    auto metrics = Get(a.port(), "/metrics").body;
    EXPECT_GE(Scalar(metrics, "shmstatsd_history_pending_ticks"), 3);
    EXPECT_GT(Scalar(metrics, "shmstatsd_history_pending_bytes"), 0);
    ASSERT_EQ(a.child().Stop(SIGTERM), 0);
    ASSERT_EQ(b.child().Stop(SIGTERM), 0);
    EXPECT_NE(a.child().Log().find("spooled in"), std::string::npos) << a.child().Log();
  }
  EXPECT_GE(SpoolFiles(tty_dir).size(), 4u);  // the final tick's too
  EXPECT_GE(SpoolFiles(file_dir).size(), 4u);
  for (const TempDir* d : {&tty_dir, &file_dir}) {
    std::filesystem::remove(*d / "blocked");
    std::filesystem::create_directory(*d / "blocked");
  }

  // One restarted under a terminal (script's pty), one with stderr to a file.
  std::filesystem::remove(tty_dir / "ports");
  std::string cmd = std::string("exec ") + SHMSTATSD_PATH + " --segment " + seg.str() +
                    " --state-dir " + tty_dir.str() + " --listen 127.0.0.1:0 --port-file " +
                    (tty_dir / "ports") + " --interval 1s --history-db " +
                    (tty_dir / "blocked/history.db");
  Child tty({"/usr/bin/script", "-qfec", cmd, "/dev/null"}, tty_dir / "tty.log");
  int port = AwaitPort(tty_dir / "ports");
  ASSERT_NE(port, 0) << ReadFile(tty_dir / "tty.log");
  Daemon plain(seg.str(), file_dir, args(file_dir));
  ASSERT_TRUE(plain.ready()) << plain.child().Log();
  for (int p : {port, plain.port()}) {
    ASSERT_TRUE(WaitFor([&] {
      auto h = Health(p);
      return h.is_object() && h["code"] == 200 && h["backlog"]["ticks"] == 0 &&
             h["backlog"]["bytes"] == 0;
    })) << ReadFile(tty_dir / "tty.log")
        << plain.child().Log();
  }
  // Stop the daemon under script (its pid is in the spool's lock file).
  pid_t pid = std::stoi(ReadFile(tty_dir / "spool/lock"));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(tty.Wait(), 0);
  ASSERT_EQ(plain.child().Stop(SIGTERM), 0);

  std::string on_tty = ReadFile(tty_dir / "tty.log"), in_file = plain.child().Log();
  EXPECT_NE(on_tty.find("\033[Kshmstatsd: history backlog: "), std::string::npos) << on_tty;
  EXPECT_NE(in_file.find("history: sending"), std::string::npos) << in_file;
  EXPECT_EQ(in_file.find("history backlog:"), std::string::npos) << in_file;
  EXPECT_EQ(in_file.find('\033'), std::string::npos) << in_file;
  EXPECT_EQ(SpoolFiles(tty_dir).size(), 0u);
  EXPECT_EQ(SpoolFiles(file_dir).size(), 0u);
  EXPECT_EQ(Stored(tty_dir / "blocked/history.db", "n_total").total, 5u);
  EXPECT_EQ(Stored(file_dir / "blocked/history.db", "n_total").total, 5u);
}

// --spool-max-ticks bounds the spool: the oldest ticks are dropped and counted.
TEST(SpoolTest, ABoundedSpoolDropsTheOldestAndCountsThem) {
  ScopedSegmentName seg(UniqueName("sp"));
  auto s = Segment::Create(seg.str(), Small());
  TempDir dir;
  std::ofstream(dir / "blocked") << "not a directory";
  Daemon d(seg.str(), dir, {"--history-db", dir / "blocked/history.db", "--spool-max-ticks", "2"});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(4));
  auto metrics = Get(d.port(), "/metrics").body;
  EXPECT_EQ(Scalar(metrics, "shmstatsd_history_pending_ticks"), 2);
  EXPECT_NE(metrics.find("shmstatsd_history_dropped_ticks_total{reason=\"full\"} "),
            std::string::npos);
  EXPECT_EQ(metrics.find("shmstatsd_history_dropped_ticks_total{reason=\"full\"} 0"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(SpoolFiles(dir).size(), 2u);
  ASSERT_EQ(d.child().Stop(SIGTERM), 0);
}

// --spool-max-ticks 0: no spool; the backlog waits in memory and is written in order.
TEST(SpoolTest, WithoutASpoolTheBacklogWaitsInMemory) {
  ScopedSegmentName seg(UniqueName("sp"));
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"n_total", {}, "", ""});
  TempDir dir;
  std::ofstream(dir / "blocked") << "not a directory";
  Daemon d(seg.str(), dir, {"--history-db", dir / "blocked/history.db", "--spool-max-ticks", "0"});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(2));
  c.Inc(3);
  ASSERT_TRUE(d.AwaitTicks(2));
  auto h = Health(d.port());
  EXPECT_GE(h["backlog"]["ticks"].get<int>(), 3) << h.dump();
  EXPECT_EQ(h["backlog"]["bytes"], 0) << h.dump();
  EXPECT_FALSE(std::filesystem::exists(dir / "spool"));
  std::filesystem::remove(dir / "blocked");
  std::filesystem::create_directory(dir / "blocked");
  ASSERT_TRUE(WaitFor([&] {
    auto j = Health(d.port());
    return j.is_object() && j["code"] == 200 && j["backlog"]["ticks"] == 0;
  })) << d.child().Log();
  ASSERT_EQ(d.child().Stop(SIGTERM), 0);
  EXPECT_EQ(Stored(dir / "blocked/history.db", "n_total").total, 3u);
}

}  // namespace
}  // namespace shmstats::testing
