// SPDX-License-Identifier: Apache-2.0
// history_store_bench: the PostgreSQL history store beside the SQLite one, in the
// same run. It starts its own PostgreSQL 15 with the tests'
// helper (tests/daemon/pg_server.h: initdb, pg_ctl, Unix socket, fsync=off, removed
// at the end). Ratios PostgreSQL / SQLite and the target are printed after the run,
// never asserted. Figures and commands: docs/performance.md.
//   BM_StoreTick/<store>/10000  one tick of 10,000 series (70% counters, 20% gauges,
//                               10% histograms of 12 buckets) written by the store's
//                               StoreWriter (one transaction); counters: bytes on disk
//                               per stored sample (a row: one series at one tick),
//                               and the PostgreSQL server's CPU per tick (its
//                               processes' utime + stime: the work the client's CPU
//                               time does not show)
//   BM_Query7d/<store>          a 7-day, 1-minute query of one series in a store of
//                               100 series x 10,080 one-minute ticks
// <store> is 0 for SQLite, 1 for PostgreSQL.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "common/selector.h"
#include "history/query.h"
#include "history/store.h"
#include "history/time.h"
#include "pg_server.h"
#include "ratio_reporter.h"
#include "sqlite_footprint.h"
#include "week_of_ticks.h"

namespace shmstats::bench {
namespace {

constexpr int64_t kMinute = 60'000;

testing::PgServer& Pg() {
  static testing::PgServer pg;
  if (!pg.started()) {
    std::fprintf(stderr, "history_store_bench: PostgreSQL did not start:\n%s\n", pg.Log().c_str());
    std::exit(1);
  }
  return pg;
}

// CPU time (utime + stime, ns) of the PostgreSQL server: the postmaster and its
// children (backends, writers). 10 ms resolution; a backend that exits in between
// is not counted (the writer's connection lives through the timed loop).
double ServerCpuNs() {
  std::string url = Pg().url();
  auto host = url.find("host=") + 5;
  std::ifstream pidfile(url.substr(host, url.find('&', host) - host) + "/data/postmaster.pid");
  long postmaster = 0;
  pidfile >> postmaster;
  const double ns_per_tick = 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  double ticks = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat) || stat.rfind(')') == std::string::npos) continue;
    // Fields after "(comm)": state ppid ... utime (14th field) stime (15th).
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    long ppid = 0, utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 4) ppid = std::atol(field.c_str());
      if (i == 14) utime = std::atol(field.c_str());
      if (i == 15) stime = std::atol(field.c_str());
    }
    long pid = std::atol(entry.path().filename().c_str());
    if (pid == postmaster || ppid == postmaster) ticks += static_cast<double>(utime + stime);
  }
  return ticks * ns_per_tick;
}

// A fresh store: a SQLite file in a new directory, or a new database on the server
// (Google Benchmark may call a benchmark more than once).
std::string FreshStore(int store, const std::string& tag) {
  static int n = 0;
  std::string name = "bench_" + tag + std::to_string(n++);
  if (store == 1) {
    PGconn* c = PQconnectdb(Pg().url().c_str());
    PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(c);
    if (!ok) std::exit(1);
    std::string url = Pg().url();
    return url.replace(url.find("/postgres?"), 10, "/" + name + "?");
  }
  auto dir = std::filesystem::temp_directory_path() /
             ("history-store-bench-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::create_directories(dir);
  return (dir / "history.db").string();
}

void Remove(int store, const std::string& location) {
  if (store == 0) std::filesystem::remove_all(std::filesystem::path(location).parent_path());
}

// Bytes and sample rows of a store.
std::pair<double, double> Footprint(int store, const std::string& location) {
  if (store == 0) return SqliteFootprint(location);
  PGconn* c = PQconnectdb(location.c_str());
  PQclear(PQexec(c, "VACUUM ANALYZE"));
  PGresult* r = PQexec(c,
                       "SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                       "WHERE inhparent = 'shmstats_samples'::regclass) + "
                       "pg_total_relation_size('shmstats_series'), "
                       "(SELECT count(*) FROM shmstats_samples)");
  std::pair<double, double> out{std::atof(PQgetvalue(r, 0, 0)), std::atof(PQgetvalue(r, 0, 1))};
  PQclear(r);
  PQfinish(c);
  return out;
}

history::TickRecord Tick(int series, std::mt19937_64& rng) {
  history::TickRecord t;
  t.interval_ms = kMinute;
  for (int i = 0; i < series; ++i) {
    MetricSnapshot m;
    m.labels = {{"id", std::to_string(i)}, {"job", "bench"}};
    if (i % 10 == 9) {
      m.name = "bench_latency_seconds";
      m.type = MetricType::kHistogram;
      m.histogram.bounds = {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5};
      m.histogram.counts.assign(12, 0);
      for (int k = 0; k < 20; ++k) ++m.histogram.counts[rng() % 12];
      m.histogram.count = 20;
      m.histogram.sum = static_cast<double>(rng() % 1000) / 997.0;
    } else if (i % 10 >= 7) {
      m.name = "bench_gauge";
      m.type = MetricType::kGauge;
      m.gauge = i % 2 ? static_cast<double>(rng() % 1000) : (rng() % 100000) / 7.0;
    } else {
      m.name = "bench_total";
      m.counter = rng() % 4 == 0 ? 0 : rng() % 300;
    }
    t.samples.push_back(std::move(m));
  }
  return t;
}

void BM_StoreTick(benchmark::State& state) {
  const int store = static_cast<int>(state.range(0));
  const int series = static_cast<int>(state.range(1));
  std::string location = FreshStore(store, "tick");
  std::mt19937_64 rng(7);
  history::TickRecord tick = Tick(series, rng);
  tick.unix_ms = history::NowMs() / kMinute * kMinute;
  {
    auto writer = history::OpenWriter(location, "bench");
    writer->Write(tick, {});  // the series catalogue, outside the timing
    int64_t t = tick.unix_ms;
    const double server0 = store == 1 ? ServerCpuNs() : 0;
    for (auto _ : state) {
      state.PauseTiming();
      tick = Tick(series, rng);
      tick.unix_ms = (t += kMinute);
      state.ResumeTiming();
      writer->Write(tick, {});
    }
    if (store == 1) {
      state.counters["server_cpu_ms"] =
          benchmark::Counter((ServerCpuNs() - server0) / 1e6, benchmark::Counter::kAvgIterations);
    }
  }
  auto [bytes, rows] = Footprint(store, location);
  state.counters["bytes_per_sample"] = bytes / rows;
  state.SetLabel(store == 0 ? "sqlite" : "postgresql");
  Remove(store, location);
}
BENCHMARK(BM_StoreTick)
    ->Args({0, 10000})
    ->Args({1, 10000})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3)
    ->UseRealTime();

void BM_Query7d(benchmark::State& state) {
  const int store = static_cast<int>(state.range(0));
  std::string location = FreshStore(store, "query");
  const int64_t end = history::NowMs() / kMinute * kMinute;
  WriteWeekOfTicks(*history::OpenWriter(location, "bench"), 100, end);
  history::HistoryReader reader(history::OpenStore(location));
  QueryAWeek(state, reader, 50, end);
  state.SetLabel(store == 0 ? "sqlite" : "postgresql");
  Remove(store, location);
}
BENCHMARK(BM_Query7d)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(20)->UseRealTime();

void PrintComparison(const RatioReporter& r, std::ostream& out) {
  auto ratio = [&](const std::string& pg, const std::string& lite) {
    return r.MedianRealNs(pg) / r.MedianRealNs(lite);
  };
  out << "\nPostgreSQL / SQLite (real time, medians; printed, not asserted):\n";
  RatioReporter::PrintTarget(out, "tick write, 10,000 series",
                             ratio("BM_StoreTick/1/10000", "BM_StoreTick/0/10000"), 3.0);
  out << fmt::format("  bytes per stored sample: SQLite {:.1f} B, PostgreSQL {:.1f} B ({:.2f}x)\n",
                     r.CounterValue("BM_StoreTick/0/10000", "bytes_per_sample"),
                     r.CounterValue("BM_StoreTick/1/10000", "bytes_per_sample"),
                     r.CounterValue("BM_StoreTick/1/10000", "bytes_per_sample") /
                         r.CounterValue("BM_StoreTick/0/10000", "bytes_per_sample"));
  out << fmt::format("  7-day one-series query: {:.2f}x\n", ratio("BM_Query7d/1", "BM_Query7d/0"));
  // CPU: SQLite works in the writing process; PostgreSQL in its client and its server.
  const double lite = r.MedianCpuNs("BM_StoreTick/0/10000") / 1e6;
  const double client = r.MedianCpuNs("BM_StoreTick/1/10000") / 1e6;
  const double server = r.CounterValue("BM_StoreTick/1/10000", "server_cpu_ms");
  out << fmt::format(
      "  tick write CPU: SQLite {:.1f} ms; PostgreSQL client {:.1f} + server {:.1f} ms ({:.2f}x)\n",
      lite, client, server, (client + server) / lite);
}

}  // namespace
}  // namespace shmstats::bench

int main(int argc, char** argv) {
  return shmstats::bench::RunWithRatios(
      argc, argv, "BM_StoreTick", "ms",
      [](const auto& r) { shmstats::bench::PrintComparison(r, std::cout); },
      /*ratio_table=*/false);
}
