// SPDX-License-Identifier: Apache-2.0
#include "co_running.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "shmstats/metrics.h"

namespace shmstats::bench {
namespace {

struct Interval {
  uint64_t start, end;  // timer-clock ticks (TSC where usable)
};

// A batch is this long when running alone (about 1 us), so that preemption shows
// as a batch many times longer than the thread's fastest one.
constexpr double kBatchSeconds = 1e-6;
// Longer than this many times the fastest batch: the thread was not running all
// along (contention alone slows an operation up to ~30x here, a preemption or a
// descheduled vCPU ~1000x).
constexpr double kPreempted = 100;
// A gap between two batches of a thread longer than this: it was not running.
constexpr double kGapSeconds = 2e-6;

std::vector<int> TwoCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

void Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

uint64_t Fastest(const std::vector<Interval>& v) {
  uint64_t best = UINT64_MAX;
  for (const Interval& i : v) best = std::min(best, i.end - i.start);
  return best;
}

}  // namespace

CoRunResult CoRun(const std::function<void(int, uint64_t)>& batch, double seconds) {
  CoRunResult result;
  std::vector<int> cpus = TwoCpus();
  if (cpus.size() < 2) return result;
  CalibrateTimerClock();
  const double tick = detail::TimerSeconds(0, 1);

  // Batch length: what takes kBatchSeconds alone (at least 16 operations).
  uint64_t n = 16;
  for (;;) {
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < 20; ++r) {
      uint64_t t0 = detail::TimerTicks();
      batch(0, n);
      best = std::min(best, detail::TimerTicks() - t0);
      result.ops += n;
    }
    if (best * tick >= kBatchSeconds || n >= (1u << 20)) break;
    n *= 2;
  }

  const size_t capacity = static_cast<size_t>(seconds / kBatchSeconds) + 1024;
  std::vector<Interval> runs[2];
  std::atomic<int> ready{0};
  std::atomic<bool> stop{false};
  auto worker = [&](int t) {
    Pin(cpus[t]);
    std::vector<Interval>& mine = runs[t];
    mine.reserve(capacity);
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    while (!stop.load(std::memory_order_relaxed) && mine.size() < capacity) {
      uint64_t t0 = detail::TimerTicks();
      batch(t, n);
      mine.push_back({t0, detail::TimerTicks()});
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  while (ready.load() < 2) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  a.join();
  b.join();

  // Thread t's batch counts when every batch of the other thread overlapping it
  // ran unpreempted, those batches follow one another without a gap, and they
  // cover it from start to end.
  uint64_t ticks = 0, ops = 0;
  const auto gap = static_cast<uint64_t>(kGapSeconds / tick);
  result.ops += (runs[0].size() + runs[1].size()) * n;
  for (int t = 0; t < 2; ++t) {
    const std::vector<Interval>& mine = runs[t];
    const std::vector<Interval>& other = runs[1 - t];
    const double limit_mine = kPreempted * static_cast<double>(Fastest(mine));
    const double limit_other = kPreempted * static_cast<double>(Fastest(other));
    size_t j = 0;
    for (const Interval& i : mine) {
      ++result.batches;
      if (static_cast<double>(i.end - i.start) > limit_mine) continue;
      while (j < other.size() && other[j].end <= i.start) ++j;
      if (j == other.size() || other[j].start > i.start) continue;
      bool ok = true;
      uint64_t covered = other[j].start;
      for (size_t k = j; ok && k < other.size() && covered < i.end; ++k) {
        ok = other[k].start <= covered + gap &&
             static_cast<double>(other[k].end - other[k].start) <= limit_other;
        covered = other[k].end;
      }
      if (!ok || covered < i.end) continue;
      ++result.co_batches;
      ticks += i.end - i.start;
      ops += n;
      result.co_ops += n;
    }
  }
  result.overlap = result.batches ? static_cast<double>(result.co_batches) / result.batches : 0;
  result.ns_per_op = ops ? static_cast<double>(ticks) * tick * 1e9 / static_cast<double>(ops) : 0;
  return result;
}

void Pool(CoRunResult& into, const CoRunResult& more) {
  const uint64_t co_ops = into.co_ops + more.co_ops;
  const uint64_t batches = into.batches + more.batches;
  if (co_ops > 0)
    into.ns_per_op = (into.ns_per_op * static_cast<double>(into.co_ops) +
                      more.ns_per_op * static_cast<double>(more.co_ops)) /
                     static_cast<double>(co_ops);
  into.co_ops = co_ops;
  into.co_batches += more.co_batches;
  into.batches = batches;
  into.ops += more.ops;
  into.overlap = batches ? static_cast<double>(into.co_batches) / static_cast<double>(batches) : 0;
}

std::vector<std::vector<CoRunResult>> CoRunInTurn(
    const std::vector<std::function<void(int, uint64_t)>>& batches, double seconds, int rounds) {
  std::vector<std::vector<CoRunResult>> per_round(batches.size());
  for (int r = 0; r < rounds; ++r)
    for (size_t op = 0; op < batches.size(); ++op)
      per_round[op].push_back(CoRun(batches[op], seconds / rounds));
  return per_round;
}

std::vector<std::vector<double>> AloneInTurn(
    const std::vector<std::function<void(int, uint64_t)>>& batches, uint64_t n, int rounds) {
  auto cpu_ns = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
  };
  std::vector<std::vector<double>> per_round(batches.size());
  for (int r = 0; r < rounds; ++r) {
    for (size_t op = 0; op < batches.size(); ++op) {
      const double t0 = cpu_ns();
      batches[op](0, n);
      per_round[op].push_back((cpu_ns() - t0) / static_cast<double>(n));
    }
  }
  return per_round;
}

void PrintCoRunning(std::ostream& out, const std::vector<CoRunRow>& rows,
                    const std::string& floor) {
  double floor_ns = 0;
  for (const CoRunRow& r : rows)
    if (r.name == floor) floor_ns = r.result.ns_per_op;
  out << "\nCo-running: two threads pinned to different CPUs, timed only in the batches\n"
      << "during which the other thread was running too (ns per operation per thread)\n\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-40s %9s %8s %9s %12s\n", "operation", "ns/op", "x floor",
                "overlap", "co batches");
  out << line;
  for (const CoRunRow& r : rows) {
    const CoRunResult& c = r.result;
    if (c.co_batches == 0) {
      std::snprintf(line, sizeof line, "%-40s %9s %8s %8.1f%% %12llu\n", r.name.c_str(), "-", "-",
                    c.overlap * 100, static_cast<unsigned long long>(c.co_batches));
    } else {
      std::snprintf(line, sizeof line, "%-40s %9.2f %8.2f %8.1f%% %12llu\n", r.name.c_str(),
                    c.ns_per_op, floor_ns > 0 ? c.ns_per_op / floor_ns : 0.0, c.overlap * 100,
                    static_cast<unsigned long long>(c.co_batches));
    }
    out << line;
  }
}

}  // namespace shmstats::bench
