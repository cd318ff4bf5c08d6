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

void PrintReference(std::ostream& out, const std::string& what, double ratio) {
  char line[256];
  std::snprintf(line, sizeof line, "  %s: %.2fx (a reference, no target)\n", what.c_str(), ratio);
  out << line;
}

// `ours` / `floor` (InTurnRow names): the ratio of their times summed over the
// rounds both have, then the spread of the rounds' ratios. NAN target: a reference.
void PrintInTurnRatio(const std::vector<shmstats::bench::InTurnRow>& rows, const std::string& ours,
                      const std::string& floor, const std::string& threads, double target,
                      std::ostream& out) {
  const shmstats::bench::InTurnRow* a = nullptr;
  const shmstats::bench::InTurnRow* b = nullptr;
  for (const auto& row : rows) {
    if (row.name == ours + threads) a = &row;
    if (row.name == floor + threads) b = &row;
  }
  const std::string what = ours + " / " + floor + threads + ", in turn";
  std::vector<double> ratios;
  double sum_a = 0, sum_b = 0;
  for (size_t i = 0; a && b && i < std::min(a->ns.size(), b->ns.size()); ++i) {
    if (std::isnan(a->ns[i]) || std::isnan(b->ns[i])) continue;
    ratios.push_back(a->ns[i] / b->ns[i]);
    sum_a += a->ns[i];
    sum_b += b->ns[i];
  }
  const double ratio = ratios.empty() ? NAN : sum_a / sum_b;
  char line[256];
  if (std::isnan(target)) {
    PrintReference(out, what, ratio);
  } else {
    shmstats::bench::RatioReporter::PrintTarget(out, what, ratio, target);
  }
  if (!ratios.empty()) {
    std::sort(ratios.begin(), ratios.end());
    std::snprintf(line, sizeof line, "    its %zu rounds: median %.2f, min %.2f, max %.2f\n",
                  ratios.size(), ratios[ratios.size() / 2], ratios.front(), ratios.back());
    out << line;
  }
}

// The recording targets: each operation against its floor and its peer, as ratios
// measured in the same run.
void PrintRecordingTargets(const shmstats::bench::RatioReporter& r,
                           const std::vector<shmstats::bench::CoRunRow>& co,
                           const std::vector<shmstats::bench::InTurnRow>& in_turn,
                           std::ostream& out) {
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
  // CAS loop and a bucket's fetch_add) and beside prometheus-cpp with the same bounds,
  // measured in turn (co_running.h): the Google Benchmark medians of separate runs
  // drift by more than the 10 % the target tells apart (printed as references).
  // 1 thread: the stricter floor, the count in the sum's cache line. 2 threads: the
  // floor writing where an observation writes, a bucket on its own line (contended
  // lines, not instructions, are the cost there, and no histogram of more than 7
  // buckets can keep its bucket in the sum's line).
  // With 2 threads on one histogram prometheus-cpp serialises on a mutex, which
  // contention slows less than it slows two locked operations: there the floor
  // itself is about 0.25x the peer, so that ratio is a reference, beside the floor's.
  using namespace shmstats::bench;
  const std::string one = ", 1 thread", two = ", 2 threads co-running";
  const std::string observe = kObserveExponential;
  PrintInTurnRatio(in_turn, observe, kFloorOneLine, one, 1.1, out);
  PrintInTurnRatio(in_turn, observe, kFloorWhereObserveWrites, one, NAN, out);
  PrintInTurnRatio(in_turn, observe, kPeerExponential, one, 0.25, out);
  PrintInTurnRatio(in_turn, observe, kFloorWhereObserveWrites, two, 1.1, out);
  PrintInTurnRatio(in_turn, observe, kFloorOneLine, two, NAN, out);
  PrintInTurnRatio(in_turn, observe, kPeerExponential, two, NAN, out);
  PrintInTurnRatio(in_turn, kFloorWhereObserveWrites, kPeerExponential, two, NAN, out);
  for (int64_t threads : {1, 2}) {
    const std::string gb = threads == 1 ? " (Google Benchmark medians), 1 thread"
                                        : " (Google Benchmark medians), 2 threads";
    PrintReference(out, "observe (exponential) / fetch_add + CAS double" + gb,
                   r.MedianCpuNs("BM_HistogramObserveExponential", threads) /
                       r.MedianCpuNs("BM_Ref_FetchAddAndCasDouble", threads));
    PrintReference(out, "observe (exponential) / prometheus-cpp" + gb,
                   r.MedianCpuNs("BM_HistogramObserveExponential", threads) /
                       r.MedianCpuNs("BM_Peer_PromHistogramObserveExponential", threads));
  }
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
  std::vector<InTurnRow> in_turn;
  std::vector<CoRunRow> co = CoRunRecording(corun_seconds, &in_turn);
  PrintCoRunning(std::cout, co, "floor: fetch_add, per-CPU slot");
  PrintTargets(reporter, std::cout);
  PrintRecordingTargets(reporter, co, in_turn, std::cout);
  std::cout << "\n";
  bool ok = env->CheckTotals(std::cout);
  SetEnv(nullptr);
  return ok ? 0 : 1;
}
