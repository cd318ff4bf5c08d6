// SPDX-License-Identifier: Apache-2.0
// shmstatsd_bench: the costs of shmstatsd's work, each
// beside its floor, BM_ReadFloor (Segment::Read of the same segment: what every
// tick and scrape must do at least), with ratios and the targets printed
// after the run (never asserted). Figures and commands: docs/performance.md.
//   BM_Tick/N          snapshot + aggregate + one SQLite transaction, N series
//                      (70% counters, 20% gauges, 10% histograms of 12 buckets);
//                      counters report bytes_per_row on disk (a row: one series at
//                      one tick) and bytes_per_sample (histogram buckets, sum and
//                      count counted as Prometheus samples)
//   BM_StatsJson/N     the stats.json document of one tick
//   BM_ScrapeRender/N  Read + Prometheus text of the whole segment (the /metrics work)
//   BM_Query7d1m       a 7-day, 1-minute query of one series in a database of 1,000
//                      series x 10,080 one-minute ticks
//   BM_ReadFloor/N     Segment::Read alone: the floor under a tick and a scrape
// N is 1,000, 10,000 and 100,000; the 100k/10k growth of each is printed (linear
// growth is 10x).

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>

#include "common/exposition.h"
#include "common/selector.h"
#include "daemon/aggregate.h"
#include "daemon/stats_json.h"
#include "history/query.h"
#include "history/store.h"
#include "history/time.h"
#include "ratio_reporter.h"
#include "shmstats/shmstats.h"
#include "sqlite_footprint.h"
#include "week_of_ticks.h"

namespace shmstats::daemon {
namespace {

struct Fixture {
  std::string name;
  Segment segment;
  std::vector<Counter> counters;
  std::vector<Gauge> gauges;
  std::vector<Histogram> histograms;
  std::mt19937_64 rng{7};

  explicit Fixture(int n)
      : name("shmstatsd-bench-" + std::to_string(getpid()) + "-" + std::to_string(n)),
        segment(Create(name, n)) {
    for (int i = 0; i < n; ++i) {
      Labels labels = {{"id", std::to_string(i)}, {"job", "bench"}};
      if (i % 10 == 9) {
        histograms.push_back(segment.RegisterHistogram(
            {"bench_latency_seconds", labels, "", "seconds"},
            ExplicitBuckets{{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}));
      } else if (i % 10 >= 7) {
        gauges.push_back(segment.RegisterGauge({"bench_gauge", labels, "", ""}));
      } else {
        counters.push_back(segment.RegisterCounter({"bench_total", labels, "", ""}));
      }
    }
  }
  ~Fixture() { Segment::Remove(name); }

  static Segment Create(const std::string& name, int n) {
    SegmentOptions o;
    o.max_metrics = static_cast<uint32_t>(n * 2 + 64);
    o.max_slots = static_cast<uint32_t>(n * 16 + 4096);
    return Segment::Create(name, o);
  }

  // One minute's worth of recording: most counters move a little, gauges change
  // (half to integral values), histograms get a few observations.
  void Record() {
    for (auto& c : counters) c.Inc(rng() % 4 == 0 ? 0 : rng() % 300);
    for (size_t i = 0; i < gauges.size(); ++i) {
      gauges[i].Set(i % 2 ? static_cast<double>(rng() % 1000) : (rng() % 100000) / 7.0);
    }
    std::lognormal_distribution<double> lat(-4, 1.2);
    for (auto& h : histograms) {
      for (int k = 0; k < 20; ++k) h.Observe(lat(rng));
    }
  }
};

// Minor page faults per iteration, as the counter "faults": a render or read that
// gets its buffers from fresh mappings faults in every page of them each time, one
// that reuses the heap does not (what ran before in the process decides which).
class FaultCounter {
 public:
  explicit FaultCounter(benchmark::State& state) : state_(state), start_(MinorFaults()) {}
  ~FaultCounter() {
    state_.counters["faults"] = benchmark::Counter(static_cast<double>(MinorFaults() - start_),
                                                   benchmark::Counter::kAvgIterations);
  }

 private:
  static long MinorFaults() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
  }
  benchmark::State& state_;
  long start_;
};

std::string TempDb(const char* tag) {
  auto dir = std::filesystem::temp_directory_path() /
             ("shmstatsd-bench-" + std::string(tag) + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return (dir / "history.db").string();
}

void BM_Tick(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  std::string db = TempDb("tick");
  auto store = history::OpenWriter(db);
  history::StoreWriter& writer = *store;
  Aggregator agg;
  agg.Next(f.segment.Read(), 60'000);  // the baseline tick
  // One tick outside the timing writes the series catalogue (a one-time cost per
  // series, which with 3 timed ticks at 100k would weigh a third of the mean): the
  // timed ticks are the steady state the daemon lives in.
  f.Record();
  TickResult first = agg.Next(f.segment.Read(), 60'000);
  writer.Write(TakeRecord(first), {});
  int64_t ticks = 0;
  std::optional<FaultCounter> faults(state);
  for (auto _ : state) {
    state.PauseTiming();
    f.Record();
    state.ResumeTiming();
    TickResult tick = agg.Next(f.segment.Read(), 60'000);
    writer.Write(TakeRecord(tick), {});
    ++ticks;
  }
  faults.reset();
  {
    auto [bytes, rows] = bench::SqliteFootprint(db);
    // A histogram row stands for 12 buckets + _sum + _count = 14 Prometheus samples.
    double prom_samples = rows * (0.9 + 0.1 * 14);
    state.counters["bytes_per_row"] = bytes / rows;
    state.counters["bytes_per_sample"] = bytes / prom_samples;
    state.counters["ticks"] = static_cast<double>(ticks);
  }
  std::filesystem::remove_all(std::filesystem::path(db).parent_path());
}
BENCHMARK(BM_Tick)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)->MinTime(3);

// stats.json's document for one tick (built every tick beside the history write).
void BM_StatsJson(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  Aggregator agg;
  agg.Next(f.segment.Read(), 60'000);
  f.Record();
  TickResult tick = agg.Next(f.segment.Read(), 60'000);
  StatsJsonOrder order;  // as the collector keeps it: sorted on the first tick only
  FaultCounter faults(state);
  for (auto _ : state) benchmark::DoNotOptimize(StatsJson(tick, f.name, order));
}
BENCHMARK(BM_StatsJson)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_ScrapeRender(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  f.Record();
  size_t bytes = 0;
  FaultCounter faults(state);
  for (auto _ : state) {
    std::string text = common::ToText(f.segment.Read(), common::TextFormat::kPrometheus);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ScrapeRender)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_ReadFloor(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  FaultCounter faults(state);
  for (auto _ : state) benchmark::DoNotOptimize(f.segment.Read());
}
BENCHMARK(BM_ReadFloor)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_Query7d1m(benchmark::State& state) {
  std::string db = TempDb("query");
  const int64_t minute = 60'000;
  const int64_t end = history::NowMs() / minute * minute;
  {
    auto store = history::OpenWriter(db);
    history::StoreWriter& writer = *store;
    bench::WriteWeekOfTicks(writer, 1000, end);
  }
  history::HistoryReader reader(db);
  bench::QueryAWeek(state, reader, 500, end);
  std::filesystem::remove_all(std::filesystem::path(db).parent_path());
}
BENCHMARK(BM_Query7d1m)->Unit(benchmark::kMillisecond)->Iterations(20);

constexpr double kTickTargetMs = 50;    // whole tick, 10,000 series
constexpr double kScrapeTargetMs = 10;  // /metrics, 10,000 series
constexpr double kBytesPerSampleTarget = 16;
constexpr double kGrowthTarget = 12;  // 10x the series, at most 12x the cost

void PrintTargets(const bench::RatioReporter& r, std::ostream& out) {
  out << "\nTargets (real time, medians; printed, not asserted):\n";
  r.PrintTarget(out, "tick, 10,000 series", r.MedianRealNs("BM_Tick/10000") / 1e6, kTickTargetMs,
                "%.1f ms");
  r.PrintTarget(out, "/metrics scrape, 10,000 series",
                r.MedianRealNs("BM_ScrapeRender/10000") / 1e6, kScrapeTargetMs, "%.1f ms");
  r.PrintTarget(out, "bytes per stored sample (10,000 series)",
                r.CounterValue("BM_Tick/10000", "bytes_per_sample"), kBytesPerSampleTarget,
                "%.1f B");
  // Scaling: from 10,000 to 100,000 series each cost grows at most linearly.
  for (const char* op : {"BM_Tick", "BM_StatsJson", "BM_ScrapeRender", "BM_ReadFloor"}) {
    const std::string big = std::string(op) + "/100000", small = std::string(op) + "/10000";
    r.PrintTarget(out, big + " / " + small, r.MedianRealNs(big) / r.MedianRealNs(small),
                  kGrowthTarget, "%.2fx");
  }
}

}  // namespace
}  // namespace shmstats::daemon

int main(int argc, char** argv) {
  return shmstats::bench::RunWithRatios(argc, argv, "BM_ReadFloor", "ms", [](const auto& r) {
    shmstats::daemon::PrintTargets(r, std::cout);
  });
}
