// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace shmstats::bench {

// Contention measured only where it happens. Google Benchmark's 2-thread runs on a
// loaded 2-core machine mostly time-slice the two threads, so they rarely contend.
// Here two threads pinned to different CPUs each run the operation in short
// batches and time every batch; afterwards only the batches during which the other
// thread was running batches back to back (no preemption: no batch much longer
// than the thread's fastest, no gap between the other's batches) are counted.
struct CoRunResult {
  double ns_per_op = 0;  // per thread, over the co-running batches only
  double overlap = 0;    // fraction of all batches that were co-running
  uint64_t co_batches = 0;
  uint64_t batches = 0;
  uint64_t ops = 0;  // every operation performed, calibration included
};

// `batch(thread, n)` performs the operation n times on behalf of thread 0 or 1.
// Runs for about `seconds`. Returns overlap 0 when the process may not use two CPUs.
CoRunResult CoRun(const std::function<void(int, uint64_t)>& batch, double seconds);

struct CoRunRow {
  std::string name;
  CoRunResult result;
};

// The recording operations co-running, each for about `seconds` (recording_bench.cc).
std::vector<CoRunRow> CoRunRecording(double seconds);

// Prints the rows with each one's ratio to `floor` (a row name).
void PrintCoRunning(std::ostream& out, const std::vector<CoRunRow>& rows, const std::string& floor);

}  // namespace shmstats::bench
