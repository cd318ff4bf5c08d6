// SPDX-License-Identifier: Apache-2.0
// History stays exact across restarts of shmstatsd (graceful and SIGKILL): the first
// tick after a start records the increase since the last stored tick, from the
// baseline file, and a segment re-created while the daemon was down counts as a
// reset, never as a negative or a double count.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "daemon_harness.h"
#include "spool_helpers.h"

namespace shmstats::testing {
namespace {

// shmstatsd ticking every 100 ms, on a port it reports in its state directory.
class FastDaemon {
 public:
  FastDaemon(const std::string& segment, const TempDir& dir) {
    std::vector<std::string> argv = {SHMSTATSD_PATH, "--segment",  segment, "--state-dir",
                                     dir.str(),      "--interval", "100ms"};
    for (const std::string& arg : ListenAnyPort(dir / "ports")) argv.push_back(arg);
    child_ = std::make_unique<Child>(argv, dir / "shmstatsd.log");
    port_ = AwaitPort(dir / "ports");
  }
  bool Ready() {
    return port_ != 0 && WaitFor([&] { return Get(port_, "/healthz").status != 0; });
  }
  double Ticks() { return Scalar(Get(port_, "/metrics").body, "shmstatsd_ticks_total"); }
  bool AwaitTicks(int n) {
    const double start = Ticks();
    return WaitFor([&] { return Ticks() >= start + n; }, 30);
  }
  Child& child() { return *child_; }

 private:
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

TEST(RestartTest, HistoryIsExactAcrossTenSigtermAndTenSigkillRestarts) {
  ScopedSegmentName seg(UniqueName("restart"));
  Segment segment = Segment::Create(seg.str(), Small());
  Counter counter = segment.RegisterCounter({"restart_total", {}, "", ""});
  TempDir dir;
  {
    FastDaemon first(seg.str(), dir);
    ASSERT_TRUE(first.Ready()) << first.child().Log();
    ASSERT_TRUE(first.AwaitTicks(1));  // its baseline: the counter is still 0
    ASSERT_EQ(first.child().Stop(SIGTERM), 0) << first.child().Log();
  }

  // A producer with known increments, running through every restart and downtime.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> produced{0};
  std::thread producer([&] {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!stop.load() && std::chrono::steady_clock::now() < end) {
      counter.Inc(3);
      produced += 3;
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> up_ms(0, 800), down_ms(0, 300);
  for (int i = 0; i < 20; ++i) {
    const int sig = i % 2 == 0 ? SIGTERM : SIGKILL;  // 10 of each
    FastDaemon d(seg.str(), dir);
    ASSERT_TRUE(d.Ready()) << d.child().Log();
    // A random moment: before, during or between ticks, writes and baselines.
    std::this_thread::sleep_for(std::chrono::milliseconds(up_ms(rng)));
    const int status = d.child().Stop(sig);
    if (sig == SIGTERM) {
      ASSERT_EQ(status, 0) << d.child().Log();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(down_ms(rng)));
  }
  stop = true;
  producer.join();

  FastDaemon last(seg.str(), dir);
  ASSERT_TRUE(last.Ready()) << last.child().Log();
  ASSERT_TRUE(last.AwaitTicks(2));
  ASSERT_EQ(last.child().Stop(SIGTERM), 0) << last.child().Log();
  const StoredSamples stored = Stored(dir / "history.db", "restart_total");
  std::printf("%llu increments over 20 restarts, %zu ticks stored\n",
              static_cast<unsigned long long>(produced.load()), stored.times);
  EXPECT_EQ(stored.total, produced.load()) << last.child().Log();
}

TEST(RestartTest, ASegmentRecreatedWhileTheDaemonIsDownCountsAsAReset) {
  ScopedSegmentName seg(UniqueName("recreate"));
  TempDir dir;
  {
    Segment segment = Segment::Create(seg.str(), Small());
    Counter counter = segment.RegisterCounter({"recreated_total", {}, "", ""});
    FastDaemon d(seg.str(), dir);
    ASSERT_TRUE(d.Ready()) << d.child().Log();
    ASSERT_TRUE(d.AwaitTicks(1));
    counter.Inc(100);
    ASSERT_TRUE(d.AwaitTicks(2));
    ASSERT_EQ(d.child().Stop(SIGTERM), 0) << d.child().Log();
    counter.Inc(5);  // gone with the segment: no one ever read it
  }
  ASSERT_EQ(Stored(dir / "history.db", "recreated_total").total, 100u);
  // Removed and created again (a reboot, `statsctl remove`): the same descriptor,
  // another instance, a smaller value.
  ASSERT_TRUE(Segment::Remove(seg.str()));
  Segment segment = Segment::Create(seg.str(), Small());
  segment.RegisterCounter({"recreated_total", {}, "", ""}).Inc(7);
  FastDaemon d(seg.str(), dir);
  ASSERT_TRUE(d.Ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(2));
  ASSERT_EQ(d.child().Stop(SIGTERM), 0) << d.child().Log();
  EXPECT_EQ(Stored(dir / "history.db", "recreated_total").total, 107u) << d.child().Log();
}

}  // namespace
}  // namespace shmstats::testing
