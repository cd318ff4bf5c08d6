#include "ratio_reporter.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace shmstats::bench {
namespace {

constexpr double kCounterTarget = 1.05;   // Counter::Inc vs the raw fetch_add
constexpr double kHistogramTarget = 2.0;  // Histogram::Observe vs Counter::Inc

benchmark::ConsoleReporter::OutputOptions ConsoleOptions() {
  return isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Defaults
                               : benchmark::ConsoleReporter::OO_Tabular;
}

double ToNs(double t, benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kSecond:
      return t * 1e9;
    case benchmark::kMillisecond:
      return t * 1e6;
    case benchmark::kMicrosecond:
      return t * 1e3;
    case benchmark::kNanosecond:
      return t;
  }
  return t;
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Format(const char* format, double a, double b = 0, double c = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

}  // namespace

RatioReporter::RatioReporter(const std::string& floor_name)
    : ConsoleReporter(ConsoleOptions()), floor_name_(floor_name) {}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    Key key{run.run_name.function_name, run.threads};
    auto [it, inserted] = times_.try_emplace(key);
    if (inserted) order_.push_back(key);
    Times& t = it->second;
    double cpu = ToNs(run.GetAdjustedCPUTime(), run.time_unit);
    double real = ToNs(run.GetAdjustedRealTime(), run.time_unit);
    if (run.run_type == Run::RT_Iteration) {
      t.cpu_ns.push_back(cpu);
      t.real_ns.push_back(real);
    } else if (run.aggregate_name == "median") {
      t.median_cpu_ns = cpu;
      t.median_real_ns = real;
    } else if (run.aggregate_name == "cv") {
      // A fraction, not a time: the statistic of the repetitions' accumulated times.
      t.cv_cpu = run.cpu_accumulated_time;
    }
  }
}

double RatioReporter::MedianCpu(const Key& key) const {
  auto it = times_.find(key);
  if (it == times_.end()) return NAN;
  const Times& t = it->second;
  return t.median_cpu_ns >= 0 ? t.median_cpu_ns : Median(t.cpu_ns);
}

double RatioReporter::MedianReal(const Key& key) const {
  auto it = times_.find(key);
  if (it == times_.end()) return NAN;
  const Times& t = it->second;
  return t.median_real_ns >= 0 ? t.median_real_ns : Median(t.real_ns);
}

void RatioReporter::PrintTarget(std::ostream& out, const std::string& what, const Key& op,
                                const Key& reference, double target) const {
  double ratio = MedianCpu(op) / MedianCpu(reference);
  out << "  " << what << ", " << op.second << " thread" << (op.second == 1 ? "" : "s") << ": "
      << Format("%.2fx (target <= %.2fx): ", ratio, target)
      << (std::isnan(ratio) ? "not measured"
          : ratio <= target ? "met"
                            : "MISSED")
      << "\n";
}

void RatioReporter::PrintRatios(std::ostream& out) const {
  out << "\nRatios: time per operation (median) / the floor's (" << floor_name_
      << ") at the same thread count\n"
      << "  cpu = per-thread CPU time per operation (the cost a recording caller pays);\n"
      << "  real = wall time / all threads' operations (inverse throughput)\n\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-36s %7s %9s %8s %9s %8s  %s\n", "benchmark", "threads",
                "cpu ns", "x floor", "real ns", "x floor", "cpu spread");
  out << line;
  for (const Key& key : order_) {
    const Times& t = times_.at(key);
    Key floor{floor_name_, key.second};
    std::string spread = "-";
    if (t.cv_cpu >= 0) {
      spread = Format("cv %.1f%%", t.cv_cpu * 100);
    } else if (t.cpu_ns.size() > 1) {
      auto [lo, hi] = std::minmax_element(t.cpu_ns.begin(), t.cpu_ns.end());
      spread = Format("%.1f..%.1f", *lo, *hi);
    }
    std::snprintf(line, sizeof line, "%-36s %7lld %9.2f %8.2f %9.2f %8.2f  %s\n", key.first.c_str(),
                  static_cast<long long>(key.second), MedianCpu(key),
                  MedianCpu(key) / MedianCpu(floor), MedianReal(key),
                  MedianReal(key) / MedianReal(floor), spread.c_str());
    out << line;
  }
  out << "\nTargets (cpu time, medians; printed, not asserted):\n";
  for (int64_t threads : {1, 2}) {
    PrintTarget(out, "counter inc / raw atomic", {"BM_CounterInc", threads}, {floor_name_, threads},
                kCounterTarget);
  }
  for (const char* kind : {"Explicit", "Exponential"}) {
    for (int64_t threads : {1, 2}) {
      PrintTarget(out, std::string("histogram observe (") + kind + ") / counter inc",
                  {std::string("BM_HistogramObserve") + kind, threads}, {"BM_CounterInc", threads},
                  kHistogramTarget);
    }
  }
}

}  // namespace shmstats::bench
