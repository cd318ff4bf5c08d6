#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace shmstats::bench {

// The console reporter, which also keeps every result so that, after the run,
// PrintRatios can divide each benchmark's time per operation by the floor's at the
// same thread count and check the targets. Ratios are printed, never
// asserted: wall time on a shared machine is not a test.
// With --benchmark_repetitions it uses the median (Google Benchmark's "median"
// aggregate, or the median of the repetitions it was shown) and prints the spread.
// Not thread-safe (Google Benchmark reports from one thread).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(const std::string& floor_name);

  void ReportRuns(const std::vector<Run>& runs) override;

  // Prints the ratio table and the target checks to `out`.
  void PrintRatios(std::ostream& out) const;

 private:
  struct Times {
    std::vector<double> cpu_ns;  // one per repetition shown
    std::vector<double> real_ns;
    double median_cpu_ns = -1;  // Google Benchmark's median aggregate, if any
    double median_real_ns = -1;
    double cv_cpu = -1;  // coefficient of variation aggregate, if any
  };
  using Key = std::pair<std::string, int64_t>;  // benchmark function, threads

  double MedianCpu(const Key& key) const;
  double MedianReal(const Key& key) const;
  void PrintTarget(std::ostream& out, const std::string& what, const Key& op, const Key& reference,
                   double target) const;

  std::string floor_name_;
  std::vector<Key> order_;  // first-seen order, for printing
  std::map<Key, Times> times_;
};

}  // namespace shmstats::bench
