// SPDX-License-Identifier: Apache-2.0
// native_histogram_bench: what exponential histograms cost on the wire, natively
// and as classic buckets, each beside its floor; ratios printed after the run
// (never asserted). Figures and commands: docs/performance.md.
//   BM_ScrapeText/N         the /metrics text (classic _bucket lines): the floor, what
//                           a scraper without native histograms gets
//   BM_ScrapeProtobuf/N     the protobuf exposition (native histogram + classic
//                           buckets), what Prometheus with native histograms gets
//   BM_RemoteWriteClassic/N remote-write of the classic buckets (one series each)
//   BM_RemoteWriteNative/N  remote-write of native histograms (one series each)
// N histograms as the statsd door registers them (schema 3, 1e-6 .. 1e6: 645
// buckets with the negative, zero and overflow ones), each with 1,000 observations of
// its own drawn log-uniformly over 1e-4 .. 10 (a latency): ~130 non-empty buckets.

#include <benchmark/benchmark.h>
#include <snappy.h>
#include <unistd.h>

#include <cmath>
#include <iostream>
#include <map>
#include <random>

#include "common/exposition.h"
#include "daemon/http/protobuf_exposition.h"
#include "daemon/push/encode.h"
#include "ratio_reporter.h"
#include "shmstats/shmstats.h"

namespace shmstats::daemon {
namespace {

constexpr int64_t kNowMs = 1'790'000'000'000;

// N histograms recorded into a segment of their own, read back once.
const Snapshot& Histograms(int n) {
  static std::map<int, Snapshot> made;
  auto [it, fresh] = made.try_emplace(n);
  if (!fresh) return it->second;
  const std::string name = "native-bench-" + std::to_string(getpid());
  SegmentOptions options;
  options.max_metrics = 256;
  options.max_slots = 1 << 20;
  Segment::Remove(name);
  Segment segment = Segment::Create(name, options);
  for (int i = 0; i < n; ++i) {
    Histogram h = segment.RegisterHistogram(
        {"request_seconds", {{"id", std::to_string(i)}, {"job", "bench"}}, "Latency", "seconds"},
        ExponentialBuckets{.min = 1e-6, .max = 1e6, .schema = 3});
    std::mt19937_64 rng(i);  // each its own observations, as real series differ
    std::uniform_real_distribution<double> exponent(-4, 1);
    for (int k = 0; k < 1000; ++k) h.Observe(std::pow(10.0, exponent(rng)));
  }
  it->second = segment.Read();
  Segment::Remove(name);
  return it->second;
}

void Bytes(benchmark::State& state, size_t bytes) {
  state.counters["bytes_per_histogram"] = static_cast<double>(bytes) / state.range(0);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_ScrapeText(benchmark::State& state) {
  const Snapshot& snap = Histograms(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = common::ToText(snap, common::TextFormat::kPrometheus);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  Bytes(state, bytes);
}
BENCHMARK(BM_ScrapeText)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_ScrapeProtobuf(benchmark::State& state) {
  const Snapshot& snap = Histograms(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = ToProtobuf(snap);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  Bytes(state, bytes);
}
BENCHMARK(BM_ScrapeProtobuf)->Arg(100)->Unit(benchmark::kMillisecond);

void RemoteWrite(benchmark::State& state, bool classic) {
  const Snapshot& snap = Histograms(static_cast<int>(state.range(0)));
  size_t bytes = 0, samples = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Snapshot copy = snap;  // EncodeRemoteWrite consumes its snapshot
    state.ResumeTiming();
    auto batches = EncodeRemoteWrite(std::move(copy), kNowMs, {"shmstatsd", "host-a"},
                                     kRemoteWriteMaxSamples, classic);
    bytes = samples = 0;
    for (const auto& b : batches) {
      bytes += b.body.size();
      samples += b.samples;
    }
    benchmark::DoNotOptimize(batches);
  }
  state.counters["samples_per_histogram"] = static_cast<double>(samples) / state.range(0);
  Bytes(state, bytes);
}
void BM_RemoteWriteClassic(benchmark::State& state) { RemoteWrite(state, true); }
void BM_RemoteWriteNative(benchmark::State& state) { RemoteWrite(state, false); }
BENCHMARK(BM_RemoteWriteClassic)->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RemoteWriteNative)->Arg(100)->Unit(benchmark::kMillisecond);

void PrintPairs(const bench::RatioReporter& r, std::ostream& out) {
  auto line = [&](const char* what, const std::string& a, const std::string& b) {
    out << "  " << what << ": " << a << " / " << b << " = time "
        << r.MedianCpuNs(a) / r.MedianCpuNs(b) << "x, bytes "
        << r.CounterValue(a, "bytes_per_histogram") / r.CounterValue(b, "bytes_per_histogram")
        << "x\n";
  };
  out << "\nNative histograms beside classic buckets (CPU time medians; printed, not asserted):\n";
  line("protobuf scrape vs text scrape", "BM_ScrapeProtobuf/100", "BM_ScrapeText/100");
  line("native vs classic remote-write", "BM_RemoteWriteNative/100", "BM_RemoteWriteClassic/100");
}

}  // namespace
}  // namespace shmstats::daemon

int main(int argc, char** argv) {
  return shmstats::bench::RunWithRatios(argc, argv, "BM_ScrapeText", "ms", [](const auto& r) {
    shmstats::daemon::PrintPairs(r, std::cout);
  });
}
