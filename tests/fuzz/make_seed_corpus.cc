// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of segment_reader_fuzzer: the bytes of small valid segments
// (one with a metric of every kind, one empty) into SEED_DIR, and empties WORK_DIR,
// where the fuzzer saves what it finds.
//
// Usage: fuzz_seed_corpus SEED_DIR WORK_DIR. Exit status 0 on success, 1 on failure.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "shmstats/shmstats.h"

namespace fs = std::filesystem;
using shmstats::Segment;

namespace {

// Creates a segment, lets `fill` populate it, and copies its bytes to `out`.
template <class Fill>
void WriteSeed(const fs::path& out, const shmstats::SegmentOptions& options, Fill fill) {
  const std::string name = "fuzz-seed-" + std::to_string(getpid());
  Segment::Remove(name);
  {
    Segment segment = Segment::Create(name, options);
    fill(segment);
  }
  fs::copy_file("/dev/shm/" + name, out, fs::copy_options::overwrite_existing);
  Segment::Remove(name);
}

void EveryKind(Segment& s) {
  using shmstats::MetricSpec;
  s.RegisterCounter(MetricSpec{"requests_total", {{"code", "200"}}, "Requests.", "requests"})
      .Inc(7);
  s.RegisterGauge(MetricSpec{"temperature_celsius", {}, "Temperature.", "celsius"}).Set(-4.5);
  s.RegisterHistogram(MetricSpec{"latency_seconds", {{"route", "/"}}, "", "seconds"},
                      shmstats::ExplicitBuckets{{0.1, 1, 10}})
      .Observe(0.5);
  shmstats::Histogram size =
      s.RegisterHistogram(MetricSpec{"size_bytes", {}, "", "bytes"},
                          shmstats::ExponentialBuckets{.min = 1, .max = 1024, .schema = 2});
  for (double v : {0.5, 3.0, 100.0, 5000.0}) size.Observe(v);
}

// Process-scoped series: a counter and a gauge of this process, whose
// owner has exited by the time the fuzzer reads them, beside their shared series.
void ProcessScoped(Segment& s) {
  shmstats::MetricSpec counter{"jobs_total", {{"queue", "mail"}}, "Jobs.", ""};
  counter.scope = shmstats::Scope::kProcess;
  s.RegisterCounter(counter).Inc(3);
  shmstats::MetricSpec gauge{"busy", {}, "", ""};
  gauge.scope = shmstats::Scope::kProcess;
  s.RegisterGauge(gauge).Set(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " SEED_DIR WORK_DIR\n";
    return 1;
  }
  try {
    fs::path seeds = argv[1], work = argv[2];
    fs::remove_all(work);
    fs::create_directories(work);
    fs::create_directories(seeds);
    shmstats::SegmentOptions options;
    options.max_metrics = 4;
    options.max_slots = 512;      // histograms take 3 slots per bucket plus 1
    options.string_bytes = 4096;  // the smallest strings area: 24 KiB in all
    WriteSeed(seeds / "every_kind", options, EveryKind);
    WriteSeed(seeds / "process_scoped", options, ProcessScoped);
    options.max_metrics = 1;
    options.max_slots = 8;
    WriteSeed(seeds / "empty", options, [](Segment&) {});
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
