// SPDX-License-Identifier: Apache-2.0
// A producer: registers a few metrics once, then records into them with no system
// calls. Run it while `statsctl list` or shmstatsd reads the same segment.
//
//   producer [--segment NAME] [--seconds N]      (default: $SHMSTATS_SEGMENT or shmstats)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "shmstats/shmstats.h"

int main(int argc, char** argv) {
  const char* env = std::getenv("SHMSTATS_SEGMENT");
  std::string segment_name = env ? env : "shmstats";
  double seconds = 5;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--segment" && i + 1 < argc) {
      segment_name = argv[i + 1];
    } else if (flag == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: producer [--segment NAME] [--seconds N]\n");
      return flag == "--help" ? 0 : 2;
    }
  }

  try {
    // Set-up: may throw shmstats::Error with a message naming the segment and cause.
    auto segment = shmstats::Segment::OpenOrCreate(segment_name);
    auto reads = segment.RegisterCounter(
        {"tool_calls_total", {{"tool", "file_read"}}, "Tool calls by tool", ""});
    auto writes = segment.RegisterCounter(
        {"tool_calls_total", {{"tool", "file_write"}}, "Tool calls by tool", ""});
    auto failures = segment.RegisterCounter({"tool_failures_total", {}, "Failed tool calls", ""});
    auto queue = segment.RegisterGauge({"queue_depth", {}, "Requests waiting", ""});
    auto sizes =
        segment.RegisterHistogram({"response_size_bytes", {}, "Response sizes", "bytes"},
                                  shmstats::ExplicitBuckets{{128, 512, 2048, 8192, 32768}});
    auto latency = segment.RegisterHistogram(
        {"tool_latency_seconds", {}, "Tool call latency", "seconds"},
        shmstats::ExponentialBuckets{.min = 1e-6, .max = 60, .schema = 3});

    // Recording: a handful of instructions each, never throws.
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> size_dist(7, 1.5);
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      try {
        shmstats::TimeCall(latency, failures, [&] {
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
          if (rng() % 50 == 0) throw std::runtime_error("tool failed");
        });
      } catch (const std::runtime_error&) {
      }
      (rng() % 3 ? reads : writes).Inc();
      queue.Set(static_cast<double>(rng() % 20) - 2.5);
      sizes.Observe(size_dist(rng));
    }
    std::printf("producer: recorded into /dev/shm/%s for %.0f s\n", segment_name.c_str(), seconds);
  } catch (const shmstats::Error& e) {
    std::fprintf(stderr, "producer: %s\n", e.what());
    return 1;
  }
  return 0;
}
