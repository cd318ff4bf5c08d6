// SPDX-License-Identifier: Apache-2.0
// shmstatsd retires the process-scoped series of exited processes every tick
// /metrics keeps a dead worker's counter in the shared series and drops
// its gauge, and the descriptors become reusable without any registration.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats::testing {
namespace {

MetricSpec Worker(std::string name) {
  MetricSpec spec{std::move(name), {}, "a worker's own series", ""};
  spec.scope = Scope::kProcess;
  return spec;
}

TEST(RetirementTest, DaemonFoldsADeadWorkersCounterAndDropsItsGauge) {
  ScopedSegmentName seg(UniqueName("retire"));
  {
    Segment s = Segment::Create(seg.str());
    s.RegisterCounter(MetricSpec{"worker_jobs_total", {}, "", ""}).Inc(1);
  }
  TempDir dir;
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();

  pid_t worker = fork();
  ASSERT_GE(worker, 0);
  if (worker == 0) {
    Segment s = Segment::Open(seg.str());
    s.RegisterCounter(Worker("worker_jobs_total")).Inc(41);
    s.RegisterGauge(Worker("worker_busy")).Set(1);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  Segment reader = Segment::Open(seg.str(), Access::kReadOnly);
  ASSERT_TRUE(WaitFor([&] { return reader.Info().process_series_reusable == 2; }, 30))
      << "shmstatsd did not retire the worker's series\n"
      << d.child().Log();
  SegmentInfo info = reader.Info();
  EXPECT_EQ(info.process_series_live + info.process_series_dead, 0u);
  EXPECT_EQ(info.process_series_retired_total, 2u);
  ASSERT_TRUE(d.AwaitTicks(1));
  auto metrics = Get(d.port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(Scalar(metrics.body, "worker_jobs_total"), 42);
  EXPECT_EQ(Scalar(metrics.body, "worker_busy"), 0);
}

}  // namespace
}  // namespace shmstats::testing
