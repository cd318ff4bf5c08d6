// SPDX-License-Identifier: Apache-2.0
// A producer for statsctl's tests and timing runs.
//
//   statsctl_test_producer fill SEGMENT N
//       creates SEGMENT sized for N metrics and registers N of them (counters with
//       labels, gauges and histograms, in the proportions of a typical service),
//       each with a value.
//   statsctl_test_producer record SEGMENT ID ITERATIONS
//       opens SEGMENT and, ITERATIONS times, increments conc_total and
//       conc_by_proc_total{proc="ID"} and observes into conc_latency_seconds;
//       it pauses briefly every 64 iterations so that readers overlap with it.
//   statsctl_test_producer hold SEGMENT JOB [burn]
//       opens SEGMENT, sets its job name to JOB, registers held_total, prints "ready"
//       and stays until stdin closes (or 120 s pass); with `burn` it spins on the CPU
//       meanwhile, counting into held_total (for the process-metrics tests).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "shmstats/shmstats.h"

namespace {

int Fill(const std::string& name, int n) {
  shmstats::SegmentOptions options;
  options.max_metrics = static_cast<uint32_t>(n + n / 4 + 16);
  options.max_slots = static_cast<uint32_t>(n * 8 * 4 + 4096);
  auto segment = shmstats::Segment::Create(name, options);
  for (int i = 0; i < n; ++i) {
    std::string idx = std::to_string(i);
    switch (i % 10) {
      case 0:
      case 1: {
        auto g = segment.RegisterGauge({"fill_queue_depth_" + std::to_string(i % 100),
                                        {{"instance", idx}},
                                        "A gauge of the fill test",
                                        ""});
        g.Set(i * 0.5 - 3);
        break;
      }
      case 2: {
        auto h = segment.RegisterHistogram(
            {"fill_latency_seconds", {{"instance", idx}}, "Latency of the fill test", "seconds"},
            shmstats::ExplicitBuckets{{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}});
        for (int k = 0; k < 20; ++k) h.Observe(0.0007 * k * (i % 7 + 1));
        break;
      }
      default: {
        auto c =
            segment.RegisterCounter({"fill_requests_total",
                                     {{"instance", idx}, {"code", std::to_string(200 + i % 5)}},
                                     "Requests of the fill test",
                                     ""});
        c.Inc(static_cast<uint64_t>(i) * 1000003);
      }
    }
  }
  return 0;
}

int Record(const std::string& name, const std::string& id, long iterations) {
  auto segment = shmstats::Segment::Open(name);
  auto total = segment.RegisterCounter({"conc_total", {}, "All increments", ""});
  auto mine = segment.RegisterCounter({"conc_by_proc_total", {{"proc", id}}, "By process", ""});
  auto latency = segment.RegisterHistogram({"conc_latency_seconds", {}, "Latency", "seconds"},
                                           shmstats::ExplicitBuckets{{0.001, 0.01, 0.1, 1}});
  for (long i = 0; i < iterations; ++i) {
    total.Inc();
    mine.Inc();
    latency.Observe(static_cast<double>(i % 1000) / 1000.0);
    if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return 0;
}

int Hold(const std::string& name, const std::string& job, bool burn) {
  auto segment = shmstats::Segment::Open(name);
  segment.SetJob(job);
  auto held = segment.RegisterCounter({"held_total", {}, "Spins of a held producer", ""});
  std::atomic<bool> done{false};
  std::thread spinner([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!done.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < deadline) {
      if (burn) {
        for (int i = 0; i < 100000; ++i) held.Inc();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[64];
  while (std::fread(buf, 1, sizeof buf, stdin) > 0) {
  }
  done = true;
  spinner.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "fill" && argc == 4) return Fill(argv[2], std::atoi(argv[3]));
    if (mode == "record" && argc == 5) return Record(argv[2], argv[3], std::atol(argv[4]));
    if (mode == "hold" && (argc == 4 || argc == 5))
      return Hold(argv[2], argv[3], argc == 5 && std::string(argv[4]) == "burn");
  } catch (const shmstats::Error& e) {
    std::fprintf(stderr, "statsctl_test_producer: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: statsctl_test_producer fill SEGMENT N | record SEGMENT ID ITERATIONS | "
               "hold SEGMENT JOB [burn]\n");
  return 2;
}
