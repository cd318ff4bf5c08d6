// SPDX-License-Identifier: Apache-2.0
// recording_bench: runs the benchmarks of recording_bench.cc on a segment of its
// own (/dev/shm/shmstats-bench-<pid>, removed at exit), then prints each
// operation's ratio to the floor, the co-running measurement (co_running.h; its
// length per operation is --corun_seconds=S, default 0.3), the targets, and checks
// that every operation was recorded.
// Exit status: 0, or 1 when set-up fails or a recorded total does not match
// (never because of timing).

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench_env.h"
#include "cleanup_on_signal.h"
#include "co_running.h"
#include "ratio_reporter.h"

namespace {

constexpr double kCounterTarget = 1.05;   // Counter::Inc vs the raw fetch_add
constexpr double kHistogramTarget = 2.0;  // Histogram::Observe vs Counter::Inc

// The targets, on CPU time per operation (the cost a recording caller pays).
void PrintTargets(const shmstats::bench::RatioReporter& r, std::ostream& out) {
  out << "\nTargets (cpu time, medians; printed, not asserted):\n";
  for (int64_t threads : {1, 2}) {
    std::string suffix = threads == 1 ? ", 1 thread" : ", 2 threads";
    r.PrintTarget(
        out, "counter inc / raw atomic" + suffix,
        r.MedianCpuNs("BM_CounterInc", threads) / r.MedianCpuNs("BM_Floor_AtomicFetchAdd", threads),
        kCounterTarget);
  }
  for (const char* kind : {"Explicit", "Exponential"}) {
    for (int64_t threads : {1, 2}) {
      std::string suffix = threads == 1 ? ", 1 thread" : ", 2 threads";
      r.PrintTarget(out, std::string("histogram observe (") + kind + ") / counter inc" + suffix,
                    r.MedianCpuNs(std::string("BM_HistogramObserve") + kind, threads) /
                        r.MedianCpuNs("BM_CounterInc", threads),
                    kHistogramTarget);
    }
  }
}

// `ours` / `floor`, both CoRunInTurn rows: the ratio of their pooled times, then the
// spread of the rounds' ratios. A NAN target prints the ratio as a reference.
void PrintInTurnRatio(const shmstats::bench::RatioReporter& r,
                      const std::vector<shmstats::bench::CoRunRow>& co, const std::string& ours,
                      const std::string& floor, double target, std::ostream& out) {
  const shmstats::bench::CoRunRow* a = nullptr;
  const shmstats::bench::CoRunRow* b = nullptr;
  for (const auto& row : co) {
    if (row.name == ours) a = &row;
    if (row.name == floor) b = &row;
  }
  const std::string what = ours + " / " + floor + ", co-running in turn";
  if (!a || !b || a->rounds.size() != b->rounds.size() || b->result.co_batches == 0) {
    out << "  " << what << ": not measured\n";
    return;
  }
  std::vector<double> ratios;
  for (size_t i = 0; i < a->rounds.size(); ++i)
    if (a->rounds[i].co_batches > 0 && b->rounds[i].co_batches > 0)
      ratios.push_back(a->rounds[i].ns_per_op / b->rounds[i].ns_per_op);
  std::sort(ratios.begin(), ratios.end());
  const double pooled = a->result.ns_per_op / b->result.ns_per_op;
  char line[160];
  if (std::isnan(target)) {
    std::snprintf(line, sizeof line, "  %s: %.2fx (a reference, no target)\n", what.c_str(),
                  pooled);
    out << line;
  } else {
    r.PrintTarget(out, what, pooled, target);
  }
  if (!ratios.empty()) {
    std::snprintf(line, sizeof line, "    its %zu rounds: median %.2f, min %.2f, max %.2f\n",
                  ratios.size(), ratios[ratios.size() / 2], ratios.front(), ratios.back());
    out << line;
  }
}

// The recording targets: each operation against its floor and its peer, as ratios
// measured in the same run.
void PrintRecordingTargets(const shmstats::bench::RatioReporter& r,
                           const std::vector<shmstats::bench::CoRunRow>& co, std::ostream& out) {
  auto co_ns = [&](const std::string& name) -> double {
    for (const auto& row : co)
      if (row.name == name && row.result.co_batches > 0) return row.result.ns_per_op;
    return NAN;
  };
  r.PrintTarget(out, "striped counter inc, co-running / per-CPU slot floor, co-running",
                co_ns("Counter::Inc, striped") / co_ns("floor: fetch_add, per-CPU slot"), 1.5);
  r.PrintTarget(out, "striped counter inc / shared-word floor, 1 thread",
                r.MedianCpuNs("BM_CounterIncStriped") / r.MedianCpuNs("BM_Floor_AtomicFetchAdd"),
                1.7);
  r.PrintTarget(out, "histogram observe (explicit) / observe (exponential), 1 thread",
                r.MedianCpuNs("BM_HistogramObserveExplicit") /
                    r.MedianCpuNs("BM_HistogramObserveExponential"),
                1.3);
  // Native exponential buckets: an observation beside what it must write (the sum's
  // CAS loop and its bucket's fetch_add) and beside prometheus-cpp with the same
  // bounds. With 2 threads, the co-running rounds (co_running.h): Google Benchmark's
  // 2-thread rows time-slice on a loaded machine and swing by more than the target.
  r.PrintTarget(out, "observe (exponential) / fetch_add + CAS double floor, 1 thread",
                r.MedianCpuNs("BM_HistogramObserveExponential") /
                    r.MedianCpuNs("BM_Ref_FetchAddAndCasDouble"),
                1.1);
  r.PrintTarget(out, "observe (exponential) / prometheus-cpp observe, same bounds, 1 thread",
                r.MedianCpuNs("BM_HistogramObserveExponential") /
                    r.MedianCpuNs("BM_Peer_PromHistogramObserveExponential"),
                0.25);
  using shmstats::bench::kCoFloorOneLine;
  using shmstats::bench::kCoFloorWhereObserveWrites;
  using shmstats::bench::kCoObserveExponential;
  PrintInTurnRatio(r, co, kCoObserveExponential, kCoFloorWhereObserveWrites, 1.1, out);
  PrintInTurnRatio(r, co, kCoObserveExponential, kCoFloorOneLine, NAN, out);
  // With 2 threads on one histogram prometheus-cpp serialises on a mutex, which
  // contention slows less than it slows two locked operations: there the floor
  // itself is about 0.25x the peer, so that ratio is a reference, printed beside
  // the floor's own.
  PrintInTurnRatio(r, co, kCoObserveExponential, shmstats::bench::kCoPeerExponential, NAN, out);
  PrintInTurnRatio(r, co, kCoFloorWhereObserveWrites, shmstats::bench::kCoPeerExponential, NAN,
                   out);
  r.PrintTarget(out, "ScopedTimer / two steady_clock::now() + observe, 1 thread",
                r.MedianCpuNs("BM_ScopedTimer") / r.MedianCpuNs("BM_Ref_SteadyClockTimer"), 0.6);
  const char* pairs[][2] = {
      {"BM_CounterInc", "BM_Peer_PromCounterInc"},
      {"BM_CounterIncStriped", "BM_Peer_PromCounterInc"},
      {"BM_GaugeSet", "BM_Peer_PromGaugeSet"},
      {"BM_GaugeAdd", "BM_Peer_PromGaugeAdd"},
      {"BM_HistogramObserveExplicit", "BM_Peer_PromHistogramObserveExplicit"},
      {"BM_HistogramObserveExponential", "BM_Peer_PromHistogramObserveExponential"},
      {"BM_HistogramObserveStriped", "BM_Peer_PromHistogramObserveExponential"},
      {"BM_ScopedTimer", "BM_Peer_PromTimer"},
  };
  for (int64_t threads : {1, 2}) {
    for (const auto& [ours, peer] : pairs)
      r.PrintTarget(
          out, std::string(ours) + " / " + peer + (threads == 1 ? ", 1 thread" : ", 2 threads"),
          r.MedianCpuNs(ours, threads) / r.MedianCpuNs(peer, threads), 1.0);
  }
  const std::pair<const char*, const char*> co_pairs[] = {
      {"Counter::Inc", "prometheus-cpp Counter::Increment"},
      {"Counter::Inc, striped", "prometheus-cpp Counter::Increment"},
      {"Histogram::Observe, exponential, striped",
       "prometheus-cpp Histogram::Observe, exp. bounds"},
      {"Histogram::Observe, exponential", "prometheus-cpp Histogram::Observe, exp. bounds"},
      {"Histogram::Observe, explicit", "prometheus-cpp Histogram::Observe, explicit"},
  };
  for (const auto& [ours, peer] : co_pairs)
    r.PrintTarget(out, std::string(ours) + " / " + peer + ", co-running", co_ns(ours) / co_ns(peer),
                  1.0);
}

// Takes --corun_seconds=S out of argv (Google Benchmark refuses flags it does not know).
double CoRunSeconds(int* argc, char** argv) {
  double seconds = 0.3;
  const char* flag = "--corun_seconds=";
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0)
      seconds = std::atof(argv[i] + std::strlen(flag));
    else
      argv[kept++] = argv[i];
  }
  *argc = kept;
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace shmstats::bench;
  const double corun_seconds = CoRunSeconds(&argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const std::string prefix = "shmstats-bench-" + std::to_string(getpid());
  UnlinkOnSignal(prefix, prefix + "-floor");
  std::unique_ptr<BenchEnv> env;
  try {
    env = std::make_unique<BenchEnv>(prefix);
  } catch (const std::exception& e) {
    std::cerr << "recording_bench: cannot set up /dev/shm/" << prefix << ": " << e.what() << "\n";
    return 1;
  }
  SetEnv(env.get());

  RatioReporter reporter("BM_Floor_AtomicFetchAdd");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  reporter.PrintRatios(std::cout);
  std::vector<CoRunRow> co = CoRunRecording(corun_seconds);
  PrintCoRunning(std::cout, co, "floor: fetch_add, per-CPU slot");
  PrintTargets(reporter, std::cout);
  PrintRecordingTargets(reporter, co, std::cout);
  std::cout << "\n";
  bool ok = env->CheckTotals(std::cout);
  SetEnv(nullptr);
  return ok ? 0 : 1;
}
