// SPDX-License-Identifier: Apache-2.0
// A program built against the installed shmstats package, the way an adopter
// builds one: it creates a uniquely named segment, registers a counter, increments
// it, reads it back and removes the segment. Exit status 0 means the installed
// headers and library work; anything else is printed on stderr.
//
// Usage: consumer <how-it-was-built>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "shmstats/shmstats.h"

int main(int argc, char** argv) {
  const std::string build = argc > 1 ? argv[1] : "unknown";
  const std::string name = "shmstats-consumer-" + build + "-" + std::to_string(getpid());
  int status = 1;
  try {
    shmstats::SegmentOptions options;
    options.max_metrics = 16;
    options.max_slots = 64;
    shmstats::Segment segment = shmstats::Segment::Create(name, options);
    shmstats::Counter runs = segment.RegisterCounter(
        {"consumer_runs_total", {{"build", build}}, "Runs of the consumer test program", ""});
    runs.Inc(41);
    runs.Inc();
    shmstats::Snapshot snap = segment.Read();
    if (snap.metrics.size() == 1 && snap.metrics[0].name == "consumer_runs_total" &&
        snap.metrics[0].counter == 42) {
      std::printf("consumer (%s): consumer_runs_total = 42\n", build.c_str());
      status = 0;
    } else {
      std::fprintf(stderr, "consumer (%s): read back %zu metrics, expected one counter of 42\n",
                   build.c_str(), snap.metrics.size());
    }
  } catch (const shmstats::Error& e) {
    std::fprintf(stderr, "consumer (%s): %s\n", build.c_str(), e.what());
  }
  try {
    shmstats::Segment::Remove(name);
  } catch (const shmstats::Error& e) {
    std::fprintf(stderr, "consumer (%s): %s\n", build.c_str(), e.what());
    status = 1;
  }
  return status;
}
