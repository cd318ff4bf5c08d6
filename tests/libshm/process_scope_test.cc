// SPDX-License-Identifier: Apache-2.0
// Process-scoped series (Scope::kProcess): readers add them into the shared series
// of their key, show a gauge only while its owner (pid and start time) lives, fold a
// dead owner's counters and histograms into the shared series, and reuse retired
// descriptors, so that thousands of short-lived processes never fill a small
// segment; producers and retirers SIGKILLed at random moments leave it consistent.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "layout.h"
#include "process_harness.h"
#include "shmstats/shmstats.h"
#include "shmstats/shmstats_c.h"

namespace shmstats {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

MetricSpec ProcessSpec(std::string name, Labels labels = {}) {
  MetricSpec spec{std::move(name), std::move(labels), "process scope test", ""};
  spec.scope = Scope::kProcess;
  return spec;
}

const ExplicitBuckets kBuckets{{1, 2, 4, 8}};

// The series of `name` (no labels) in a snapshot, or nullptr.
const MetricSnapshot* FindIn(const Snapshot& snap, std::string_view name) {
  for (const MetricSnapshot& m : snap.metrics)
    if (m.name == name && m.labels.empty()) return &m;
  return nullptr;
}

class ProcessScopeTest : public test::ProcessTest {
 protected:
  explicit ProcessScopeTest(uint32_t max_slots = 8192) : ProcessTest(96, max_slots) {}

  // The series of `name`; fails the test if it is absent or the read has problems.
  MetricSnapshot Get(std::string_view name) {
    Snapshot snap = segment_->Read();
    EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
    const MetricSnapshot* m = FindIn(snap, name);
    EXPECT_NE(m, nullptr) << name;
    return m ? *m : MetricSnapshot{};
  }
};

TEST_F(ProcessScopeTest, DeadWorkersGaugeDisappearsAndItsCounterIsFolded) {
  // The parent records into the shared series too: the aggregate is the sum.
  segment_->RegisterCounter(MetricSpec{"jobs_total", {}, "", ""}).Inc(100);
  flags_[0] = 0;
  pid_t worker = children_.Fork([this] {
    Segment s = Segment::Open(guard_.name());
    s.RegisterCounter(ProcessSpec("jobs_total")).Inc(5);
    s.RegisterGauge(ProcessSpec("busy")).Set(7);
    Histogram h = s.RegisterHistogram(ProcessSpec("latency"), kBuckets);
    h.Observe(1.5);
    h.Observe(3);
    flags_[0] = 1;
    while (flags_[1] == 0) usleep(1000);
    return 0;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[0] == 1; }, milliseconds(10000)));
  EXPECT_EQ(Get("jobs_total").counter, 105u);
  EXPECT_EQ(Get("jobs_total").process_series, 1u);
  EXPECT_EQ(Get("busy").gauge, 7);
  EXPECT_EQ(Get("latency").histogram.count, 2u);
  EXPECT_EQ(segment_->Info().process_series_live, 3u);

  flags_[1] = 1;
  auto status = children_.Wait(worker, milliseconds(10000));
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
  // Dead, not yet retired: the counter and histogram still count, the gauge not.
  EXPECT_EQ(Get("jobs_total").counter, 105u);
  EXPECT_EQ(Get("busy").gauge, 0);
  EXPECT_EQ(Get("busy").process_series, 0u);
  EXPECT_EQ(segment_->Info().process_series_dead, 3u);

  EXPECT_EQ(segment_->RetireExited(), 3u);
  MetricSnapshot jobs = Get("jobs_total");
  EXPECT_EQ(jobs.counter, 105u);
  EXPECT_EQ(jobs.process_series, 0u);  // folded into the shared series
  MetricSnapshot latency = Get("latency");
  EXPECT_EQ(latency.histogram.count, 2u);
  EXPECT_EQ(latency.histogram.sum, 4.5);
  EXPECT_EQ(latency.histogram.counts, (std::vector<uint64_t>{0, 1, 1, 0, 0}));
  EXPECT_EQ(Get("busy").gauge, 0);
  SegmentInfo info = segment_->Info();
  EXPECT_EQ(info.process_series_live + info.process_series_dead, 0u);
  EXPECT_EQ(info.process_series_reusable, 3u);
  EXPECT_EQ(info.process_series_retired_total, 3u);
  EXPECT_EQ(segment_->RetireExited(), 0u);  // nothing left to retire

  // A new process reuses the retired descriptors, and starts from zero.
  const uint32_t used = info.descriptors_used;
  pid_t next = children_.Fork([this] {
    Segment s = Segment::Open(guard_.name());
    s.RegisterCounter(ProcessSpec("jobs_total")).Inc(1);
    s.RegisterGauge(ProcessSpec("busy")).Add(2);
    return 0;
  });
  status = children_.Wait(next, milliseconds(10000));
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
  info = segment_->Info();
  EXPECT_EQ(info.descriptors_used, used);
  EXPECT_EQ(info.process_series_reused_total, 2u);
  EXPECT_EQ(Get("jobs_total").counter, 106u);
}

// Gauges combined as the shared series' GaugeCombine says, from live processes only;
// a live-only series disappears once none is left.
TEST_F(ProcessScopeTest, GaugesCombineAsTheirModeSaysOverLiveProcessesOnly) {
  auto spec = [](const char* name, GaugeCombine combine) {
    MetricSpec m = ProcessSpec(name);
    m.combine = combine;
    m.live_only = true;
    return m;
  };
  for (int i = 0; i < 6; ++i) flags_[i] = 0;
  std::vector<pid_t> workers;
  const double values[] = {1, 5, -2};  // set in this order; 5 and -2 exit first
  for (int w = 0; w < 3; ++w) {
    workers.push_back(children_.Fork([this, w, values, spec] {
      Segment s = Segment::Open(guard_.name());
      s.RegisterGauge(spec("g_max", GaugeCombine::kMax)).Set(values[w]);
      s.RegisterGauge(spec("g_min", GaugeCombine::kMin)).Set(values[w]);
      // Most recent through the C ABI, whose stamp orders the writes.
      shmstats_segment* seg = nullptr;
      shmstats_metric_options o;
      shmstats_metric_options_init(&o);
      o.name = "g_recent";
      o.scope = SHMSTATS_SCOPE_PROCESS;
      o.gauge_combine = SHMSTATS_GAUGE_MOST_RECENT | SHMSTATS_GAUGE_LIVE_ONLY;
      shmstats_gauge g;
      if (shmstats_segment_open(guard_.name().c_str(), 0, &seg) != SHMSTATS_OK ||
          shmstats_register_gauge(seg, &o, &g) != SHMSTATS_OK)
        return 1;
      shmstats_gauge_set(g, values[w]);
      shmstats_gauge_stamp(g, static_cast<uint64_t>(w + 1));
      flags_[w] = 1;
      while (flags_[3 + w] == 0) usleep(1000);
      shmstats_segment_close(seg);
      return 0;
    }));
    ASSERT_TRUE(test::WaitUntil([&] { return flags_[w] == 1; }, milliseconds(10000)));
  }
  EXPECT_EQ(Get("g_max").gauge, 5);
  EXPECT_EQ(Get("g_min").gauge, -2);
  EXPECT_EQ(Get("g_recent").gauge, -2);
  // Workers 1 and 2 (5 and -2) exit; worker 0 (1) lives on.
  for (int w : {1, 2}) {
    flags_[3 + w] = 1;
    auto status = children_.Wait(workers[w], milliseconds(10000));
    ASSERT_TRUE(status && test::ExitedCleanly(*status));
  }
  EXPECT_EQ(Get("g_max").gauge, 1);
  EXPECT_EQ(Get("g_min").gauge, 1);
  EXPECT_EQ(Get("g_recent").gauge, 1);
  EXPECT_EQ(Get("g_max").process_series, 1u);
  flags_[3] = 1;  // the last one exits: the live-only series disappear
  auto status = children_.Wait(workers[0], milliseconds(10000));
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
  Snapshot snap = segment_->Read();
  EXPECT_EQ(FindIn(snap, "g_max"), nullptr);
  EXPECT_EQ(FindIn(snap, "g_recent"), nullptr);
  // A process gauge registered with another combination is refused.
  EXPECT_THROW(segment_->RegisterGauge(ProcessSpec("g_max")), Error);
}

TEST_F(ProcessScopeTest, ResetOfAnAggregateResetsItsProcessSeries) {
  Counter mine = segment_->RegisterCounter(ProcessSpec("resets_total"));
  segment_->RegisterCounter(MetricSpec{"resets_total", {}, "", ""}).Inc(3);
  mine.Inc(4);
  auto taken = segment_->Reset([](const MetricSnapshot& m) { return m.name == "resets_total"; });
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].counter, 7u);
  mine.Inc(1);
  MetricSnapshot m = Get("resets_total");
  EXPECT_EQ(m.counter, 1u);
  EXPECT_EQ(m.counter + m.counter_reset_total, 8u);  // what the history sees
  // The same process registering again gets its own series back.
  segment_->RegisterCounter(ProcessSpec("resets_total")).Inc(1);
  EXPECT_EQ(Get("resets_total").counter, 2u);
  EXPECT_EQ(Get("resets_total").process_series, 1u);
}

// A live process whose pid matches but whose start time does not (the owner died
// and its pid went to another process) is not the owner: its gauge is hidden and
// the series retired.
TEST_F(ProcessScopeTest, AReusedPidIsNotTakenForTheOwner) {
  segment_->RegisterGauge(ProcessSpec("owner_gauge")).Set(9);
  Counter c = segment_->RegisterCounter(ProcessSpec("owner_total"));
  c.Inc(6);
  EXPECT_EQ(Get("owner_gauge").gauge, 9);
  EXPECT_EQ(segment_->RetireExited(), 0u);  // we are alive

  // Our own pid (alive) with another start time, in every process descriptor.
  Snapshot before = segment_->Read();
  const std::string path = "/dev/shm/" + guard_.name();
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  layout::Header header{};
  ASSERT_EQ(pread(fd, &header, sizeof header, 0), static_cast<ssize_t>(sizeof header));
  int rewritten = 0;
  for (uint32_t i = 0; i < header.series_used; ++i) {
    const off_t at = header.directory_offset + i * layout::kDescriptorSize;
    uint8_t scope = 0;
    uint32_t pid = 0;
    ASSERT_EQ(pread(fd, &scope, 1, at + offsetof(layout::Descriptor, scope)), 1);
    ASSERT_EQ(pread(fd, &pid, 4, at + offsetof(layout::Descriptor, process_pid)), 4);
    if (scope != layout::kScopeProcess) continue;
    ASSERT_EQ(pid, static_cast<uint32_t>(getpid()));
    uint64_t start = 0;
    ASSERT_EQ(pread(fd, &start, 8, at + offsetof(layout::Descriptor, process_start)), 8);
    start += 1;  // a process that started one tick later
    ASSERT_EQ(pwrite(fd, &start, 8, at + offsetof(layout::Descriptor, process_start)), 8);
    ++rewritten;
  }
  close(fd);
  ASSERT_EQ(rewritten, 2);
  EXPECT_EQ(Get("owner_gauge").gauge, 0);
  EXPECT_EQ(Get("owner_total").counter, 6u);
  EXPECT_EQ(segment_->RetireExited(), 2u);
  EXPECT_EQ(Get("owner_total").counter, 6u);
  EXPECT_EQ(Get("owner_total").process_series, 0u);
  // Registering again gives this process a new series (its old one is retired).
  segment_->RegisterCounter(ProcessSpec("owner_total")).Inc(1);
  EXPECT_EQ(Get("owner_total").counter, 7u);
  EXPECT_EQ(Get("owner_total").process_series, 1u);
}

// Thousands of short-lived processes, each with 10 process-scoped series, through a
// 96-descriptor segment that could hold the series of 8 of them: a retirer process
// and registrations that need room retire the dead ones and reuse their
// descriptors. Every read in between: counters never drop and never exceed what was
// recorded, the gauge (1 per live worker) never exceeds the workers not yet reaped.
// At the end the totals are exact.
TEST_F(ProcessScopeTest, ChurnOfShortLivedProcessesNeverFillsTheSegment) {
  constexpr int kWorkers = 3000;
  constexpr int kParallel = 6;
  constexpr int kCounters = 5, kGauges = 3, kHistograms = 2;
  const auto deadline = std::chrono::steady_clock::now() + seconds(150);
  flags_[0] = 0;  // stop the retirer
  pid_t retirer = children_.Fork([this] {
    Segment s = Segment::Open(guard_.name());
    while (flags_[0] == 0) {
      s.RetireExited();
      usleep(2000);
    }
    return 0;
  });
  auto worker = [this] {
    Segment s = Segment::Open(guard_.name());
    for (int j = 0; j < kCounters; ++j)
      s.RegisterCounter(ProcessSpec("churn_total", {{"j", std::to_string(j)}})).Inc(j + 1);
    for (int j = 0; j < kGauges; ++j)
      s.RegisterGauge(ProcessSpec("churn_busy", {{"j", std::to_string(j)}})).Set(1);
    for (int j = 0; j < kHistograms; ++j) {
      Histogram h =
          s.RegisterHistogram(ProcessSpec("churn_seconds", {{"j", std::to_string(j)}}), kBuckets);
      h.Observe(0.5);
      h.Observe(5);
    }
    return 0;
  };
  std::set<pid_t> running;
  int started = 0, failed = 0, reads = 0;
  std::map<std::string, uint64_t> last;  // counter and histogram totals seen last
  auto check = [&] {
    Snapshot snap = segment_->Read();
    ++reads;
    ASSERT_TRUE(snap.problems.empty()) << snap.problems.front();
    double busy = 0;
    for (const MetricSnapshot& m : snap.metrics) {
      const std::string key = m.name + (m.labels.empty() ? "" : m.labels[0].second);
      uint64_t total = 0;
      if (m.type == MetricType::kGauge) busy += m.gauge;
      if (m.type == MetricType::kCounter) {
        total = m.counter;
        ASSERT_LE(total, uint64_t(started) * (std::stoi(m.labels[0].second) + 1)) << key;
      }
      if (m.type == MetricType::kHistogram) {
        total = m.histogram.count;
        ASSERT_LE(total, 2u * started) << key;
      }
      ASSERT_GE(total, last[key]) << key << " dropped after " << started << " workers";
      last[key] = total;
    }
    ASSERT_LE(busy, double(kGauges) * running.size()) << "a dead worker's gauge is shown";
  };
  while ((started < kWorkers || !running.empty()) && std::chrono::steady_clock::now() < deadline) {
    if (started < kWorkers && running.size() < kParallel) {
      running.insert(children_.Fork(worker));
      ++started;
      continue;
    }
    for (auto it = running.begin(); it != running.end();) {
      std::optional<int> status = children_.TryWait(*it);
      if (!status) {
        ++it;
        continue;
      }
      if (!test::ExitedCleanly(*status)) ++failed;
      it = running.erase(it);
    }
    check();
    if (HasFatalFailure()) break;
  }
  flags_[0] = 1;
  auto status = children_.Wait(retirer, milliseconds(10000));
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
  ASSERT_TRUE(running.empty()) << "workers still running at the time bound";
  ASSERT_FALSE(HasFatalFailure());
  std::cout << started << " workers, " << reads << " reads\n";
  ASSERT_GE(started, 300) << "too few workers to prove reuse";
  EXPECT_EQ(failed, 0);

  // All dead: no gauge, exact totals, before and after the last retirements.
  for (int pass = 0; pass < 2; ++pass) {
    Snapshot snap = segment_->Read();
    ASSERT_TRUE(snap.problems.empty()) << snap.problems.front();
    int series = 0;
    for (const MetricSnapshot& m : snap.metrics) {
      const int j = std::stoi(m.labels.at(0).second);
      ++series;
      if (m.type == MetricType::kCounter) {
        EXPECT_EQ(m.counter, uint64_t(started) * (j + 1));
      }
      if (m.type == MetricType::kGauge) {
        EXPECT_EQ(m.gauge, 0);
      }
      if (m.type == MetricType::kHistogram) {
        EXPECT_EQ(m.histogram.count, 2u * started);
        EXPECT_EQ(m.histogram.sum, 5.5 * started);
      }
    }
    EXPECT_EQ(series, kCounters + kGauges + kHistograms);
    segment_->RetireExited();
  }
  SegmentInfo info = segment_->Info();
  EXPECT_EQ(info.registrations_refused, 0u);
  EXPECT_EQ(info.process_series_live + info.process_series_dead, 0u);
  EXPECT_LE(info.descriptors_used, info.max_metrics);
  EXPECT_GE(info.process_series_reused_total,
            uint64_t(started) * 10 - (info.max_metrics - kCounters - kGauges - kHistograms));
}

// Room for 16 histograms of 1281 buckets.
class ProcessScopeKillTest : public ProcessScopeTest {
 protected:
  ProcessScopeKillTest() : ProcessScopeTest(1 << 16) {}
};

// Producers registering process-scoped series and retirers folding them are
// SIGKILLed at random moments (fixed seed), hundreds of times. Afterwards the
// segment reads without problems, retirement finishes what the dead left, and a
// fresh process reuses descriptors and records exact values.
TEST_F(ProcessScopeKillTest, KillsDuringRegistrationAndRetirementLeaveItConsistent) {
  constexpr int kRounds = 300;
  std::mt19937 rng(20261202);
  auto producer = [this](int n) {
    return [this, n] {
      Segment s = Segment::Open(guard_.name());
      for (int j = 0; j < 6; ++j) {
        Labels labels{{"j", std::to_string(j)}};
        if (j % 3 == 0) s.RegisterCounter(ProcessSpec("kill_total", labels)).Inc(1);
        if (j % 3 == 1) s.RegisterGauge(ProcessSpec("kill_busy", labels)).Set(n);
        // 1281 buckets: a reuse zeroes 3844 slots, a fold adds 2562: long windows.
        if (j % 3 == 2)
          s.RegisterHistogram(ProcessSpec("kill_seconds", labels), ExponentialBuckets{1e-3, 1e3, 6})
              .Observe(1);
      }
      return 0;
    };
  };
  auto retirer = [this] {
    Segment s = Segment::Open(guard_.name());
    for (;;) s.RetireExited();
    return 0;
  };
  int killed = 0;
  for (int round = 0; round < kRounds; ++round) {
    pid_t p = children_.Fork(producer(round));
    pid_t r = round % 3 == 0 ? children_.Fork(retirer) : 0;
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    if (!children_.TryWait(p)) {
      children_.KillAndReap(p);
      ++killed;
    }
    if (r) children_.KillAndReap(r);
  }
  std::cout << killed << " of " << kRounds << " producers killed\n";
  Snapshot snap = segment_->Read();
  EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
  for (const MetricSnapshot& m : snap.metrics)
    if (m.type == MetricType::kGauge) {
      EXPECT_EQ(m.gauge, 0) << m.name;
    }
  segment_->RetireExited();
  SegmentInfo info = segment_->Info();
  EXPECT_EQ(info.process_series_live, 0u);
  EXPECT_EQ(info.process_series_dead, 0u);
  EXPECT_GT(info.process_series_reused_total, 0u);

  // A fresh producer: its values add exactly to what is there.
  snap = segment_->Read();
  std::map<std::string, uint64_t> before;
  for (const MetricSnapshot& m : snap.metrics)
    before[m.name + m.labels[0].second] =
        m.type == MetricType::kCounter ? m.counter : m.histogram.count;
  pid_t fresh = children_.Fork([this] {
    Segment s = Segment::Open(guard_.name());
    for (int j = 0; j < 6; j += 3)
      s.RegisterCounter(ProcessSpec("kill_total", {{"j", std::to_string(j)}})).Inc(10);
    s.RegisterHistogram(ProcessSpec("kill_seconds", {{"j", "2"}}), ExponentialBuckets{1e-3, 1e3, 6})
        .Observe(2);
    s.RegisterGauge(ProcessSpec("kill_busy", {{"j", "1"}})).Set(3);
    flags_[2] = 1;
    while (flags_[3] == 0) usleep(1000);
    return 0;
  });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[2] == 1; }, milliseconds(10000)));
  snap = segment_->Read();
  EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
  for (const MetricSnapshot& m : snap.metrics) {
    const std::string key = m.name + m.labels[0].second;
    if (m.name == "kill_total") {
      EXPECT_EQ(m.counter, before[key] + 10) << key;
    }
    if (m.name == "kill_seconds" && key == "kill_seconds2") {
      EXPECT_EQ(m.histogram.count, before[key] + 1);
    }
    if (m.name == "kill_busy") {
      EXPECT_EQ(m.gauge, key == "kill_busy1" ? 3 : 0) << key;
    }
  }
  flags_[3] = 1;
  auto status = children_.Wait(fresh, milliseconds(10000));
  ASSERT_TRUE(status && test::ExitedCleanly(*status));
}

}  // namespace
}  // namespace shmstats
