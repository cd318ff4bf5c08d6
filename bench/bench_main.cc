// recording_bench: runs the benchmarks of recording_bench.cc on a segment of its
// own (/dev/shm/shmstats-bench-<pid>, removed at exit), then prints each
// operation's ratio to the floor and checks that every operation was recorded.
// Exit status: 0, or 1 when set-up fails or a recorded total does not match
// (never because of timing).

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "bench_env.h"
#include "cleanup_on_signal.h"
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

}  // namespace

int main(int argc, char** argv) {
  using namespace shmstats::bench;
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
  PrintTargets(reporter, std::cout);
  std::cout << "\n";
  bool ok = env->CheckTotals(std::cout);
  SetEnv(nullptr);
  return ok ? 0 : 1;
}
