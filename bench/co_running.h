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
  uint64_t ops = 0;     // every operation performed, calibration included
  uint64_t co_ops = 0;  // the operations of the co-running batches
};

// Adds `more` (another run of the same operation) into `into`: the co-running time
// and operations are pooled, so ns_per_op is the whole's.
void Pool(CoRunResult& into, const CoRunResult& more);

// `batch(thread, n)` performs the operation n times on behalf of thread 0 or 1.
// Runs for about `seconds`. Returns overlap 0 when the process may not use two CPUs.
CoRunResult CoRun(const std::function<void(int, uint64_t)>& batch, double seconds);

struct CoRunRow {
  std::string name;
  CoRunResult result;               // pooled over `rounds` when there are any
  std::vector<CoRunResult> rounds;  // CoRunInTurn's rounds; empty for one CoRun
};

// Operations whose ratio matters, co-running in turn: `rounds` rounds, each running
// every operation for seconds / rounds, so that a drift of the machine (another
// process, the two threads' phase in their contention) falls on all of them alike.
// Returns, for each operation, every round's result (per_round[op][round]).
std::vector<std::vector<CoRunResult>> CoRunInTurn(
    const std::vector<std::function<void(int, uint64_t)>>& batches, double seconds, int rounds);

// Names of CoRunRecording's rows that the targets use, and its rounds for them.
inline constexpr const char* kCoFloorOneLine = "floor: fetch_add + CAS double, one line";
inline constexpr const char* kCoFloorWhereObserveWrites = "floor: sum CAS + its bucket's add";
inline constexpr const char* kCoObserveExponential = "Histogram::Observe, exponential";
inline constexpr const char* kCoPeerExponential = "prometheus-cpp Histogram::Observe, exp. bounds";
inline constexpr int kCoRounds = 30;

// The recording operations co-running, each for about `seconds` (recording_bench.cc).
std::vector<CoRunRow> CoRunRecording(double seconds);

// Prints the rows with each one's ratio to `floor` (a row name).
void PrintCoRunning(std::ostream& out, const std::vector<CoRunRow>& rows, const std::string& floor);

}  // namespace shmstats::bench
