// SPDX-License-Identifier: Apache-2.0
// remote_write_bench: Prometheus remote-write of one tick,
// each beside its floor, ratios printed after the run (never asserted).
// Figures and commands: docs/performance.md.
//   BM_TextRender/N        the /metrics text of the same N samples: the floor, what
//                          a scraping Prometheus makes shmstatsd do instead
//   BM_Snappy/N            snappy alone on the serialized WriteRequests: the
//                          compression the protocol prescribes, a floor under encode
//   BM_RemoteWriteEncode/N protobuf + snappy of N samples (requests of <= 2,000)
//   BM_PostFloor/N         POSTing the already encoded requests to a receiver on
//                          loopback (which reads them and answers 204): the network floor
//   BM_RemoteWriteSend/N   encode + POST: what the sender thread does per tick
// N samples: 70% counters, 30% gauges, labels {id, job}, as the other benchmarks'
// series (histograms would add their bucket samples to N).

#include <benchmark/benchmark.h>
#include <httplib.h>
#include <snappy.h>

#include <iostream>
#include <thread>

#include "common/exposition.h"
#include "daemon/push/encode.h"
#include "daemon/push/http_client.h"
#include "daemon/push/remote_write.h"
#include "ratio_reporter.h"

namespace shmstats::daemon {
namespace {

Snapshot Samples(int n) {
  Snapshot s;
  for (int i = 0; i < n; ++i) {
    MetricSnapshot m;
    m.labels = {{"id", std::to_string(i)}, {"job", "bench"}};
    if (i % 10 >= 7) {
      m.name = "bench_gauge";
      m.type = MetricType::kGauge;
      m.gauge = (i * 7919 % 100000) / 7.0;
    } else {
      m.name = "bench_total";
      m.type = MetricType::kCounter;
      m.counter = static_cast<uint64_t>(i) * 104729;
    }
    s.metrics.push_back(std::move(m));
  }
  return s;
}

constexpr int64_t kNowMs = 1'790'000'000'000;

void BM_TextRender(benchmark::State& state) {
  Snapshot snap = Samples(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(common::ToText(snap, common::TextFormat::kPrometheus));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TextRender)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_Snappy(benchmark::State& state) {
  std::vector<std::string> raw;
  for (const auto& b :
       EncodeRemoteWrite(Samples(static_cast<int>(state.range(0))), kNowMs, {"shmstatsd", "h"})) {
    snappy::Uncompress(b.body.data(), b.body.size(), &raw.emplace_back());
  }
  std::string out;
  for (auto _ : state) {
    for (const auto& r : raw) snappy::Compress(r.data(), r.size(), &out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Snappy)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_RemoteWriteEncode(benchmark::State& state) {
  Snapshot snap = Samples(static_cast<int>(state.range(0)));
  size_t bytes = 0, raw = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Snapshot copy = snap;  // EncodeRemoteWrite consumes its snapshot
    state.ResumeTiming();
    auto batches = EncodeRemoteWrite(std::move(copy), kNowMs, {"shmstatsd", "host-a"});
    bytes = raw = 0;
    for (const auto& b : batches) {
      bytes += b.body.size();
      size_t n = 0;
      snappy::GetUncompressedLength(b.body.data(), b.body.size(), &n);
      raw += n;
    }
    benchmark::DoNotOptimize(batches);
  }
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / state.range(0);
  state.counters["raw_bytes_per_sample"] = static_cast<double>(raw) / state.range(0);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RemoteWriteEncode)->Arg(10000)->Unit(benchmark::kMillisecond);

// A receiver on loopback that reads each request and answers 204, as Prometheus's does.
struct Receiver {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  Receiver() {
    server.Post("/api/v1/write",
                [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::yield();
  }
  ~Receiver() {
    server.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/write"; }
};

void Post(HttpClient& client, const std::vector<RemoteWriteBatch>& batches,
          benchmark::State& state) {
  for (const auto& b : batches) {
    if (client.Post(b.body, RemoteWriteHeaders(), std::chrono::seconds(10)).status != 204) {
      state.SkipWithError("the receiver did not answer 204");
    }
  }
}

void BM_PostFloor(benchmark::State& state) {
  Receiver receiver;
  HttpClient client(ParseHttpUrl(receiver.url()));
  auto batches =
      EncodeRemoteWrite(Samples(static_cast<int>(state.range(0))), kNowMs, {"shmstatsd", "host-a"});
  for (auto _ : state) Post(client, batches, state);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PostFloor)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RemoteWriteSend(benchmark::State& state) {
  Receiver receiver;
  HttpClient client(ParseHttpUrl(receiver.url()));
  Snapshot snap = Samples(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    Snapshot copy = snap;
    state.ResumeTiming();
    Post(client, EncodeRemoteWrite(std::move(copy), kNowMs, {"shmstatsd", "host-a"}), state);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RemoteWriteSend)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

void PrintPairs(const bench::RatioReporter& r, std::ostream& out) {
  auto line = [&](const char* what, const std::string& a, const std::string& b) {
    double ratio = r.MedianRealNs(a) / r.MedianRealNs(b);
    out << "  " << what << ": " << a << " / " << b << " = " << ratio << "x\n";
  };
  out << "\nRemote-write beside its floors (real time, medians; printed, not asserted):\n";
  line("encode vs snappy alone", "BM_RemoteWriteEncode/10000", "BM_Snappy/10000");
  line("encode vs /metrics text", "BM_RemoteWriteEncode/10000", "BM_TextRender/10000");
  line("encode+send vs send alone", "BM_RemoteWriteSend/10000", "BM_PostFloor/10000");
}

}  // namespace
}  // namespace shmstats::daemon

int main(int argc, char** argv) {
  return shmstats::bench::RunWithRatios(argc, argv, "BM_TextRender", "ms", [](const auto& r) {
    shmstats::daemon::PrintPairs(r, std::cout);
  });
}
