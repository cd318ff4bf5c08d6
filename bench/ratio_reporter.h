// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace shmstats::bench {

// The console reporter, which also keeps every result so that, after the run,
// PrintRatios can divide each benchmark's time per operation by the floor's at the
// same arguments and thread count ("BM_Tick/10000" by "BM_ReadFloor/10000"), and
// the caller can check its targets. Ratios and targets are printed, never
// asserted: wall time on a shared machine is not a test.
// With --benchmark_repetitions it uses the median (Google Benchmark's "median"
// aggregate, or the median of the repetitions it was shown) and prints the spread.
// Not thread-safe (Google Benchmark reports from one thread).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // `unit` is the unit of the printed table: "ns", "us" or "ms".
  explicit RatioReporter(const std::string& floor_name, std::string unit = "ns");

  void ReportRuns(const std::vector<Run>& runs) override;

  // Prints the ratio table to `out`.
  void PrintRatios(std::ostream& out) const;

  // Median CPU (per-thread) or real time per operation, in ns, of a benchmark by
  // its name with arguments ("BM_Tick/10000"); NaN when it did not run.
  double MedianCpuNs(const std::string& name, int64_t threads = 1) const;
  double MedianRealNs(const std::string& name, int64_t threads = 1) const;
  // A user counter's value: the median aggregate's, else the last repetition's;
  // NaN when absent.
  double CounterValue(const std::string& name, const std::string& counter) const;

  // Prints "  <what>: <measured> (target <= <target>): met|MISSED|not measured".
  static void PrintTarget(std::ostream& out, const std::string& what, double measured,
                          double target, const char* format = "%.2fx");

 private:
  struct Times {
    std::vector<double> cpu_ns;  // one per repetition shown
    std::vector<double> real_ns;
    double median_cpu_ns = -1;  // Google Benchmark's median aggregate, if any
    double median_real_ns = -1;
    double cv_cpu = -1;  // coefficient of variation aggregate, if any
    std::map<std::string, double> counters;
  };
  using Key = std::pair<std::string, int64_t>;  // benchmark name with arguments, threads

  const Times* Find(const Key& key) const;

  std::string floor_name_;
  std::string unit_;
  double ns_per_unit_;
  std::vector<Key> order_;  // first-seen order, for printing
  std::map<Key, Times> times_;
};

// The main() of a benchmark program: runs the benchmarks selected on the command
// line through a RatioReporter (floor `floor_name`, times in `unit`), prints the
// ratio table unless `ratio_table` is false, then hands the results to `after`
// (targets, comparisons). Returns main's exit status: 1 for an unknown flag.
int RunWithRatios(int argc, char** argv, const std::string& floor_name, const std::string& unit,
                  const std::function<void(const RatioReporter&)>& after, bool ratio_table = true);

}  // namespace shmstats::bench
