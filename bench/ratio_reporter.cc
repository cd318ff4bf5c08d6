// SPDX-License-Identifier: Apache-2.0
#include "ratio_reporter.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace shmstats::bench {
namespace {

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

RatioReporter::RatioReporter(const std::string& floor_name, std::string unit)
    : ConsoleReporter(ConsoleOptions()),
      floor_name_(floor_name),
      unit_(std::move(unit)),
      ns_per_unit_(unit_ == "ms"   ? 1e6
                   : unit_ == "us" ? 1e3
                                   : 1) {}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    std::string name = run.run_name.function_name;
    if (!run.run_name.args.empty()) name += "/" + run.run_name.args;
    Key key{name, run.threads};
    auto [it, inserted] = times_.try_emplace(key);
    if (inserted) order_.push_back(key);
    Times& t = it->second;
    double cpu = ToNs(run.GetAdjustedCPUTime(), run.time_unit);
    double real = ToNs(run.GetAdjustedRealTime(), run.time_unit);
    if (run.run_type == Run::RT_Iteration) {
      t.cpu_ns.push_back(cpu);
      t.real_ns.push_back(real);
      for (const auto& [counter, value] : run.counters) t.counters[counter] = value;
    } else if (run.aggregate_name == "median") {
      t.median_cpu_ns = cpu;
      t.median_real_ns = real;
      for (const auto& [counter, value] : run.counters) t.counters[counter] = value;
    } else if (run.aggregate_name == "cv") {
      // A fraction, not a time: the statistic of the repetitions' accumulated times.
      t.cv_cpu = run.cpu_accumulated_time;
    }
  }
}

const RatioReporter::Times* RatioReporter::Find(const Key& key) const {
  auto it = times_.find(key);
  return it == times_.end() ? nullptr : &it->second;
}

double RatioReporter::MedianCpuNs(const std::string& name, int64_t threads) const {
  const Times* t = Find({name, threads});
  if (!t) return NAN;
  return t->median_cpu_ns >= 0 ? t->median_cpu_ns : Median(t->cpu_ns);
}

double RatioReporter::MedianRealNs(const std::string& name, int64_t threads) const {
  const Times* t = Find({name, threads});
  if (!t) return NAN;
  return t->median_real_ns >= 0 ? t->median_real_ns : Median(t->real_ns);
}

double RatioReporter::CounterValue(const std::string& name, const std::string& counter) const {
  const Times* t = Find({name, 1});
  if (!t) return NAN;
  auto it = t->counters.find(counter);
  return it == t->counters.end() ? NAN : it->second;
}

void RatioReporter::PrintTarget(std::ostream& out, const std::string& what, double measured,
                                double target, const char* format) {
  out << "  " << what << ": " << Format(format, measured)
      << " (target <= " << Format(format, target) << "): "
      << (std::isnan(measured) ? "not measured"
          : measured <= target ? "met"
                               : "MISSED")
      << "\n";
}

void RatioReporter::PrintRatios(std::ostream& out) const {
  out << "\nRatios: time per operation (median) / the floor's (" << floor_name_
      << ") at the same arguments and thread count\n"
      << "  cpu = per-thread CPU time per operation (the cost the calling thread pays);\n"
      << "  real = wall time / all threads' operations (inverse throughput)\n\n";
  char line[160];
  std::string cpu = "cpu " + unit_, real = "real " + unit_;
  std::snprintf(line, sizeof line, "%-36s %7s %9s %8s %9s %8s  %s\n", "benchmark", "threads",
                cpu.c_str(), "x floor", real.c_str(), "x floor", "cpu spread");
  out << line;
  for (const Key& key : order_) {
    const Times& t = times_.at(key);
    size_t args = key.first.find('/');
    std::string floor = floor_name_ + (args == std::string::npos ? "" : key.first.substr(args));
    std::string spread = "-";
    if (t.cv_cpu >= 0) {
      spread = Format("cv %.1f%%", t.cv_cpu * 100);
    } else if (t.cpu_ns.size() > 1) {
      auto [lo, hi] = std::minmax_element(t.cpu_ns.begin(), t.cpu_ns.end());
      spread = Format("%.1f..%.1f", *lo / ns_per_unit_, *hi / ns_per_unit_);
    }
    auto ratio = [](double r) { return std::isnan(r) ? std::string("-") : Format("%.2f", r); };
    double cpu = MedianCpuNs(key.first, key.second), real = MedianRealNs(key.first, key.second);
    std::snprintf(line, sizeof line, "%-36s %7lld %9.2f %8s %9.2f %8s  %s\n", key.first.c_str(),
                  static_cast<long long>(key.second), cpu / ns_per_unit_,
                  ratio(cpu / MedianCpuNs(floor, key.second)).c_str(), real / ns_per_unit_,
                  ratio(real / MedianRealNs(floor, key.second)).c_str(), spread.c_str());
    out << line;
  }
}

int RunWithRatios(int argc, char** argv, const std::string& floor_name, const std::string& unit,
                  const std::function<void(const RatioReporter&)>& after, bool ratio_table) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(floor_name, unit);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (ratio_table) reporter.PrintRatios(std::cout);
  after(reporter);
  return 0;
}

}  // namespace shmstats::bench
