// SPDX-License-Identifier: Apache-2.0
#include "bench_env.h"

#include <bit>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace shmstats::bench {
namespace {

BenchEnv* g_env = nullptr;

Segment CreateSegment(const std::string& name) {
  Segment::Remove(name);  // a segment left by a killed run with the same pid
  SegmentOptions options;
  options.max_metrics = 16;
  options.max_slots = 1 << 16;  // striped metrics take a stripe per CPU
  options.mode = 0600;
  return Segment::Create(name, options);
}

// kValueCount values whose logarithm is uniform over [log lo, log hi]; a fixed
// seed keeps instruction counts reproducible.
std::vector<double> LogUniform(double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(std::log(lo), std::log(hi));
  std::vector<double> values(kValueCount);
  for (double& v : values) v = std::exp(exponent(rng));
  return values;
}

MetricSpec Spec(std::string name, std::string help, std::string unit = "") {
  MetricSpec spec;
  spec.name = std::move(name);
  spec.help = std::move(help);
  spec.unit = std::move(unit);
  return spec;
}

const ExponentialBuckets kExponential{.min = 1e-6, .max = 1e3, .schema = 3};

void PrintCheck(std::ostream& out, const char* what, uint64_t found, uint64_t expected,
                bool& all_ok) {
  bool ok = found == expected;
  all_ok = all_ok && ok;
  out << "  " << what << ": " << found << (ok ? " == " : " != ") << expected << " performed"
      << (ok ? "" : "  MISMATCH") << "\n";
}

}  // namespace

BenchEnv::BenchEnv(const std::string& prefix)
    : floor(prefix + "-floor", kFloorBytes),
      segment(CreateSegment(prefix)),
      explicit_values(LogUniform(5e-4, 200, 1)),
      exponential_values(LogUniform(1e-6, 1e3, 2)) {
  counter = segment.RegisterCounter(Spec("bench_ops_total", "Counter::Inc"));
  float_counter = segment.RegisterFloatCounter(Spec("bench_float_ops_total", "FloatCounter::Inc"));
  gauge = segment.RegisterGauge(Spec("bench_level", "Gauge::Set and Gauge::Add"));
  const std::vector<double> explicit_bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                               0.5,   1,      2.5,   5,    10,    25,   50,  100};
  explicit_histogram =
      segment.RegisterHistogram(Spec("bench_explicit_seconds", "explicit buckets", "seconds"),
                                ExplicitBuckets{explicit_bounds});
  exponential_histogram = segment.RegisterHistogram(
      Spec("bench_exponential_seconds", "exponential buckets", "seconds"), kExponential);
  timer_histogram = segment.RegisterHistogram(Spec("bench_timer_seconds", "ScopedTimer", "seconds"),
                                              kExponential);
  striped_counter = segment.RegisterCounter(
      Spec("bench_striped_ops_total", "Counter::Inc, striped per CPU"), Striping::kPerCpu);
  striped_histogram = segment.RegisterHistogram(
      Spec("bench_striped_seconds", "exponential buckets, striped per CPU", "seconds"),
      kExponential, Striping::kPerCpu);
  for (double v : exponential_values) {
    // The bucket of the double stored, which changing its low bits may change.
    auto with_bucket = [](double x, size_t b) {
      return std::bit_cast<double>((std::bit_cast<uint64_t>(x) & ~uint64_t{1023}) | b);
    };
    size_t bucket = exponential_histogram.BucketIndex(v);
    double w = with_bucket(v, bucket);
    for (int tries = 0; exponential_histogram.BucketIndex(w) != bucket && tries < 4; ++tries)
      w = with_bucket(v, bucket = exponential_histogram.BucketIndex(w));
    if (bucket >= kHistogramFloorBuckets || exponential_histogram.BucketIndex(w) != bucket)
      throw std::runtime_error("a value's bucket does not fit the observation floor");
    exponential_floor_values.push_back(w);
  }
  std::vector<double> exponential_bounds;
  for (const MetricSnapshot& m : segment.Read().metrics)
    if (m.name == "bench_exponential_seconds") exponential_bounds = m.histogram.bounds;
  prom = std::make_unique<PromPeer>(explicit_bounds, exponential_bounds);
}

BenchEnv::~BenchEnv() { Segment::Remove(segment.name()); }

bool BenchEnv::CheckTotals(std::ostream& out) const {
  const Snapshot snapshot = segment.Read();
  auto find = [&](std::string_view name) -> const MetricSnapshot* {
    for (const MetricSnapshot& m : snapshot.metrics) {
      if (m.name == name) return &m;
    }
    return nullptr;
  };
  const MetricSnapshot* ops = find("bench_ops_total");
  const MetricSnapshot* expl = find("bench_explicit_seconds");
  const MetricSnapshot* expo = find("bench_exponential_seconds");
  const MetricSnapshot* timer = find("bench_timer_seconds");
  const MetricSnapshot* striped_ops = find("bench_striped_ops_total");
  const MetricSnapshot* striped = find("bench_striped_seconds");
  if (!ops || !expl || !expo || !timer || !striped_ops || !striped) {
    out << "Recorded totals: a benchmark metric is missing from the segment\n";
    return false;
  }
  bool ok = true;
  out << "Recorded totals (the benchmarks wrote where they claim to):\n";
  PrintCheck(out, "floor slot", floor.slot(kFloorSlot).load(), performed.floor.load(), ok);
  PrintCheck(out, "bench_ops_total", ops->counter, performed.counter.load(), ok);
  PrintCheck(out, "bench_explicit_seconds count", expl->histogram.count,
             performed.explicit_observations.load(), ok);
  PrintCheck(out, "bench_exponential_seconds count", expo->histogram.count,
             performed.exponential_observations.load(), ok);
  PrintCheck(out, "bench_timer_seconds count", timer->histogram.count,
             performed.timer_observations.load(), ok);
  PrintCheck(out, "bench_striped_ops_total", striped_ops->counter, performed.striped_counter.load(),
             ok);
  PrintCheck(out, "bench_striped_seconds count", striped->histogram.count,
             performed.striped_observations.load(), ok);
  return ok;
}

void SetEnv(BenchEnv* env) noexcept { g_env = env; }

BenchEnv& Env() noexcept { return *g_env; }

}  // namespace shmstats::bench
