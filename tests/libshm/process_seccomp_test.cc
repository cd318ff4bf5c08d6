// SPDX-License-Identifier: Apache-2.0
// Zero system calls on the recording path: a forked producer registers its
// metrics, sandboxes itself with seccomp (any system call but exit kills it),
// records a million times with every kind of handle, and leaves with the raw exit
// system call. The test passes only if the child exited normally, and the parent
// then checks that the segment holds exactly what the child recorded.
//
// Counters, gauges and histograms (striped ones too: the CPU is read from the rseq
// area, or where rseq is off, as ctest's libshm.seccomp_without_rseq runs it, from
// the vDSO's getcpu) run under strict mode. Timers read the clock
// with RDTSC (the TSC clock directly, steady_clock through the vDSO), which strict
// mode disables on x86, so they run under a filter that allows exit(2) alone; both
// clocks are calibrated before the sandbox is entered.
//
// Nothing in the child after the sandbox is entered may allocate, print or touch
// gtest.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <variant>

#include "c_recording.h"
#include "process_harness.h"
#include "process_sandbox.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::seconds;

constexpr int kTimes = 1'000'000;

using test::EnterExitOnlyFilter;
using test::EnterStrictMode;
using test::ExitSandboxed;

// Exit codes of the child before it is sandboxed.
enum ChildExit { kRegistrationFailed = 10, kSandboxRefused = 11, kClockRefused = 13 };

MetricSpec Spec(std::string name) { return MetricSpec{std::move(name), {}, "seccomp test", ""}; }

std::map<std::string, MetricSnapshot> ByName(const Snapshot& snap) {
  std::map<std::string, MetricSnapshot> out;
  for (const MetricSnapshot& m : snap.metrics) out[m.name] = m;
  return out;
}

// What the recording loops below leave, for metrics named <prefix>total, _set, _add,
// _sub, _explicit, _exponential, and the striped ones _striped_total and _striped
// (explicit, the same bounds as _explicit).
void ExpectLoopTotals(const Snapshot& snap, const std::string& prefix) {
  auto m = ByName(snap);
  EXPECT_EQ(m.at(prefix + "total").counter, uint64_t{kTimes});
  EXPECT_EQ(m.at(prefix + "set").gauge, kTimes - 1 - 0.5);
  EXPECT_EQ(m.at(prefix + "add").gauge, kTimes * 0.5);
  EXPECT_EQ(m.at(prefix + "sub").gauge, kTimes * -0.25);
  const HistogramValue& e = m.at(prefix + "explicit").histogram;
  EXPECT_EQ(e.count, uint64_t{kTimes});
  EXPECT_EQ(e.sum, 49.5 * kTimes);  // i % 100 averages 49.5; integers sum exactly
  // Values 0..99, each kTimes/100 times: buckets (..10] (10..25] (25..50] (50..75]
  // (75..90] (90..+Inf) hold 11, 15, 25, 25, 15, 9 of every hundred.
  EXPECT_EQ(e.counts, (std::vector<uint64_t>{110000, 150000, 250000, 250000, 150000, 90000}));
  const HistogramValue& x = m.at(prefix + "exponential").histogram;
  EXPECT_EQ(x.count, uint64_t{kTimes});
  EXPECT_EQ(x.sum, 2499.5 * kTimes);
  EXPECT_EQ(x.schema, 4);
  // Values 0..4999, each kTimes/5000 times, in the first bucket whose bound >= v.
  std::vector<uint64_t> expected(x.bounds.size() + 1);
  for (int v = 0; v < 5000; ++v)
    expected[std::lower_bound(x.bounds.begin(), x.bounds.end(), v) - x.bounds.begin()] +=
        kTimes / 5000;
  EXPECT_EQ(x.counts, expected);
  EXPECT_EQ(m.at(prefix + "striped_total").counter, uint64_t{kTimes});
  const HistogramValue& st = m.at(prefix + "striped").histogram;
  EXPECT_EQ(st.count, uint64_t{kTimes});
  EXPECT_EQ(st.sum, 49.5 * kTimes);
  EXPECT_EQ(st.counts, e.counts);
}

class ZeroSyscallTest : public test::ProcessTest {
 public:
  ZeroSyscallTest() : ProcessTest(64, 1 << 14) {}
  std::string SegmentName() const { return guard_.name(); }
  Snapshot Read() const { return segment_->Read(); }

  // Forks body (which registers, sandboxes itself and records), waits for it and
  // returns its wait status; fails the test if it did not end in time.
  int RunChild(const std::function<int()>& body) {
    pid_t pid = children_.Fork(body);
    std::optional<int> status = children_.Wait(pid, seconds(60));
    EXPECT_TRUE(status.has_value()) << "the sandboxed child did not finish within 60 s";
    return status.value_or(-1);
  }
};

TEST_F(ZeroSyscallTest, CountersGaugesAndHistogramsRecordWithoutSystemCalls) {
  const std::string name = guard_.name();
  int status = RunChild([&name] {
    Counter counter, striped;
    Gauge set, add, sub;
    Histogram explicit_h, exponential_h, striped_h;
    // Never destroyed: the child leaves through SYS_exit inside this scope, so the
    // mapping stays valid while it records.
    std::optional<Segment> s;
    try {
      s.emplace(Segment::Open(name));
      counter = s->RegisterCounter(Spec("sandboxed_total"));
      set = s->RegisterGauge(Spec("sandboxed_set"));
      add = s->RegisterGauge(Spec("sandboxed_add"));
      sub = s->RegisterGauge(Spec("sandboxed_sub"));
      explicit_h =
          s->RegisterHistogram(Spec("sandboxed_explicit"), ExplicitBuckets{{10, 25, 50, 75, 90}});
      exponential_h =
          s->RegisterHistogram(Spec("sandboxed_exponential"), ExponentialBuckets{1, 1e4, 4});
      striped = s->RegisterCounter(Spec("sandboxed_striped_total"), Striping::kPerCpu);
      striped_h = s->RegisterHistogram(Spec("sandboxed_striped"),
                                       ExplicitBuckets{{10, 25, 50, 75, 90}}, Striping::kPerCpu);
    } catch (...) {
      return int{kRegistrationFailed};
    }
    if (!EnterStrictMode()) return int{kSandboxRefused};
    for (int i = 0; i < kTimes; ++i) {
      counter.Inc();
      set.Set(i - 0.5);
      add.Add(0.5);
      sub.Sub(0.25);
      explicit_h.Observe(i % 100);
      exponential_h.Observe(i % 5000);
      striped.Inc();
      striped_h.Observe(i % 100);
    }
    ExitSandboxed();
  });
  ASSERT_TRUE(test::ExitedCleanly(status))
      << "the sandboxed producer " << test::DescribeStatus(status)
      << " (SIGKILL: a system call on the recording path; status 10: registration failed; 11: "
         "seccomp refused)";

  ExpectLoopTotals(segment_->Read(), "sandboxed_");
}

// The C ABI: registered with shmstats_register_*, recorded by the static inline
// functions of shmstats_c.h compiled as C (c_recording.c), same loop, same totals.
TEST_F(ZeroSyscallTest, CInlineRecordingMakesNoSystemCalls) {
  const std::string name = guard_.name();
  int status = RunChild([&name] {
    shmstats_test_c_handles h;
    shmstats_segment* s = nullptr;  // never closed: the child leaves through SYS_exit
    if (shmstats_segment_open(name.c_str(), 0, &s) != SHMSTATS_OK) return int{kRegistrationFailed};
    shmstats_metric_options o;
    bool ok = true;
    auto reg = [&](const char* metric, auto fn, auto* out) {
      o.name = metric;
      ok = ok && fn(s, &o, out) == SHMSTATS_OK;
    };
    shmstats_metric_options_init(&o);
    reg("c_total", shmstats_register_counter, &h.counter);
    reg("c_set", shmstats_register_gauge, &h.set);
    reg("c_add", shmstats_register_gauge, &h.add);
    reg("c_sub", shmstats_register_gauge, &h.sub);
    double bounds[] = {10, 25, 50, 75, 90};
    o.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
    o.bounds = bounds;
    o.n_bounds = 5;
    reg("c_explicit", shmstats_register_histogram, &h.explicit_h);
    shmstats_metric_options_init(&o);
    o.min = 1;
    o.max = 1e4;
    o.schema = 4;
    reg("c_exponential", shmstats_register_histogram, &h.exponential_h);
    shmstats_metric_options_init(&o);
    o.striping = SHMSTATS_STRIPING_PER_CPU;
    reg("c_striped_total", shmstats_register_counter, &h.striped);
    o.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
    o.bounds = bounds;
    o.n_bounds = 5;
    reg("c_striped", shmstats_register_histogram, &h.striped_h);
    if (!ok) return int{kRegistrationFailed};
    if (!EnterStrictMode()) return int{kSandboxRefused};
    shmstats_test_c_record(&h, kTimes);
    ExitSandboxed();
  });
  ASSERT_TRUE(test::ExitedCleanly(status))
      << "the sandboxed C producer " << test::DescribeStatus(status)
      << " (SIGKILL: a system call on the recording path; status 10: registration failed; 11: "
         "seccomp refused)";
  ExpectLoopTotals(segment_->Read(), "c_");
}

// The C timer (shmstats_timer_now, shmstats_histogram_observe_elapsed) on the TSC,
// calibrated before the sandbox: RDTSC only, under the exit-only filter.
TEST_F(ZeroSyscallTest, CTimerRecordsWithoutSystemCalls) {
  if (shmstats_timer_set_clock(SHMSTATS_TIMER_TSC) == 0)
    GTEST_SKIP() << "no invariant TSC used as clocksource on this machine (see "
                    "CalibrateTimerClock): timers use steady_clock here";
  const std::string name = guard_.name();
  int status = RunChild([&name] {
    shmstats_segment* s = nullptr;  // never closed: the child leaves through SYS_exit
    if (shmstats_segment_open(name.c_str(), 0, &s) != SHMSTATS_OK) return int{kRegistrationFailed};
    shmstats_metric_options o;
    shmstats_metric_options_init(&o);
    o.name = "c_timed_seconds";
    o.min = 1e-9;
    o.max = 10;
    shmstats_histogram h;
    if (shmstats_register_histogram(s, &o, &h) != SHMSTATS_OK) return int{kRegistrationFailed};
    if (shmstats_timer_set_clock(SHMSTATS_TIMER_TSC) == 0) return int{kClockRefused};
    if (!EnterExitOnlyFilter()) return int{kSandboxRefused};
    shmstats_test_c_time(&h, kTimes);
    ExitSandboxed();
  });
  ASSERT_TRUE(test::ExitedCleanly(status))
      << "the sandboxed C producer " << test::DescribeStatus(status)
      << " (SIGSYS: a system call on the recording path; status 10: registration failed; 11: "
         "seccomp refused; 13: the clock was refused)";
  const HistogramValue& t = ByName(Read()).at("c_timed_seconds").histogram;
  EXPECT_EQ(t.count, uint64_t{kTimes});
  EXPECT_GT(t.sum, 0.0);
  EXPECT_LT(t.sum, 60.0);  // a million empty timings: microseconds each at most
}

// The C inline bucket choice is the C++ one, for every histogram kind (exponential,
// explicit through the table, explicit by search) and striped or not: the C handle
// registered for a series picks the bucket the C++ handle picks, value for value.
TEST_F(ZeroSyscallTest, CBucketIndexIsTheCxxOneForEveryKind) {
  std::vector<double> dense;  // too many bounds for a table: the search
  for (int i = 0; i < 3000; ++i) dense.push_back(1000 + i);
  struct Case {
    const char* name;
    Buckets buckets;
    Striping striping;
  };
  const std::vector<Case> cases = {
      {"x_exponential", ExponentialBuckets{1e-3, 1e4, 4}, Striping::kShared},
      {"x_exponential_striped", ExponentialBuckets{1e-6, 1e3, 3}, Striping::kPerCpu},
      {"x_table", ExplicitBuckets{{-1, -0.0, 1, 2.5, 10, 100}}, Striping::kShared},
      {"x_table_striped", ExplicitBuckets{{10, 25, 50, 75, 90}}, Striping::kPerCpu},
      {"x_search", ExplicitBuckets{dense}, Striping::kShared},
  };
  shmstats_segment* s = nullptr;
  ASSERT_EQ(shmstats_segment_open(guard_.name().c_str(), 0, &s), SHMSTATS_OK)
      << shmstats_last_error();
  std::mt19937_64 rng(7);
  std::vector<int> kinds_seen(3);
  for (const Case& c : cases) {
    Histogram cxx = segment_->RegisterHistogram(Spec(c.name), c.buckets, c.striping);
    shmstats_metric_options o;
    shmstats_metric_options_init(&o);
    o.name = c.name;
    o.help = "seccomp test";
    o.striping = c.striping == Striping::kPerCpu ? SHMSTATS_STRIPING_PER_CPU : 0;
    if (const auto* e = std::get_if<ExponentialBuckets>(&c.buckets)) {
      o.min = e->min;
      o.max = e->max;
      o.schema = e->schema;
    } else {
      const auto& b = std::get<ExplicitBuckets>(c.buckets).bounds;
      o.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
      o.bounds = b.data();
      o.n_bounds = b.size();
    }
    shmstats_histogram h;
    ASSERT_EQ(shmstats_register_histogram(s, &o, &h), SHMSTATS_OK) << shmstats_last_error();
    ASSERT_LT(h.kind, 3) << c.name;
    ++kinds_seen[h.kind];
    for (int i = 0; i < 200000; ++i) {
      double v = i % 2 ? std::bit_cast<double>(rng())
                       : std::uniform_real_distribution<double>(-10, 4500)(rng);
      if (v != v) continue;
      ASSERT_EQ(shmstats_test_c_bucket_index(&h, v), cxx.BucketIndex(v))
          << c.name << ": value " << v;
    }
  }
  EXPECT_EQ(kinds_seen, (std::vector<int>{2, 2, 1}));  // every kind was exercised
  shmstats_segment_close(s);
}

// True when the clock source is read through the vDSO, so clock_gettime makes no
// system call. Other clock sources (hpet, acpi_pm) trap into the kernel.
bool ClockReadInUserSpace() {
  std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string source;
  in >> source;
  return source == "tsc" || source == "kvm-clock" || source == "arch_sys_counter" ||
         source == "hyperv_clocksource_tsc_page";
}

// Both clocks of the timers (CalibrateTimerClock): calibrated before the sandbox,
// then read a million times inside it.
void TimersRecordWithoutSystemCalls(ZeroSyscallTest& test, TimerClock clock) {
  const std::string name = test.SegmentName();
  int status = test.RunChild([&name, clock] {
    Histogram scoped, called;
    Counter failures;
    std::optional<Segment> s;  // mapped until the raw exit, as above
    try {
      s.emplace(Segment::Open(name));
      ExponentialBuckets seconds_buckets{1e-9, 10, 3};
      scoped = s->RegisterHistogram(Spec("sandboxed_scoped_seconds"), seconds_buckets);
      called = s->RegisterHistogram(Spec("sandboxed_call_seconds"), seconds_buckets);
      failures = s->RegisterCounter(Spec("sandboxed_call_failures_total"));
    } catch (...) {
      return int{kRegistrationFailed};
    }
    if (!SetTimerClock(clock)) return int{kClockRefused};
    if (!EnterExitOnlyFilter()) return int{kSandboxRefused};
    uint64_t total = 0;
    for (int i = 0; i < kTimes; ++i) {
      { ScopedTimer timer(scoped); }
      total += TimeCall(called, failures, [i] { return uint64_t(i); });
    }
    // Uses the result so the calls cannot be dropped; always true.
    if (total != uint64_t{kTimes} * (kTimes - 1) / 2) return 12;
    ExitSandboxed();
  });
  ASSERT_TRUE(test::ExitedCleanly(status))
      << "the sandboxed producer " << test::DescribeStatus(status)
      << " (SIGSYS: a system call on the recording path; status 10: registration failed; 11: "
         "seccomp refused; 13: the clock was refused)";

  auto m = ByName(test.Read());
  EXPECT_EQ(m.at("sandboxed_scoped_seconds").histogram.count, uint64_t{kTimes});
  EXPECT_EQ(m.at("sandboxed_call_seconds").histogram.count, uint64_t{kTimes});
  EXPECT_GT(m.at("sandboxed_call_seconds").histogram.sum, 0.0);
  EXPECT_EQ(m.at("sandboxed_call_failures_total").counter, 0u);
}

TEST_F(ZeroSyscallTest, SteadyClockTimersRecordWithoutSystemCalls) {
  if (!ClockReadInUserSpace())
    GTEST_SKIP() << "this machine's clock source is not read through the vDSO, so steady_clock "
                    "timers cannot avoid clock_gettime system calls here";
  TimersRecordWithoutSystemCalls(*this, TimerClock::kSteadyClock);
}

TEST_F(ZeroSyscallTest, TscTimersRecordWithoutSystemCalls) {
  if (!SetTimerClock(TimerClock::kTsc))
    GTEST_SKIP() << "no invariant TSC used as clocksource on this machine (see "
                    "CalibrateTimerClock): timers use steady_clock here";
  TimersRecordWithoutSystemCalls(*this, TimerClock::kTsc);
}

// The harness itself: a system call in either sandbox must kill the child, or the
// tests above would prove nothing.
TEST_F(ZeroSyscallTest, ASystemCallInStrictModeKillsTheChild) {
  int status = RunChild([] {
    if (!EnterStrictMode()) return int{kSandboxRefused};
    syscall(SYS_getppid);
    ExitSandboxed();
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child " << test::DescribeStatus(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(ZeroSyscallTest, ASystemCallUnderTheFilterKillsTheChild) {
  int status = RunChild([] {
    if (!EnterExitOnlyFilter()) return int{kSandboxRefused};
    syscall(SYS_getppid);
    ExitSandboxed();
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child " << test::DescribeStatus(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

}  // namespace
}  // namespace shmstats
