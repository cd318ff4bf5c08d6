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
  CoRunResult result;  // pooled over the rounds of CoRunInTurn
};

// One operation measured in turn with others (CoRunInTurn, AloneInTurn): its ns per
// operation in each round (NAN: a round without co-running batches).
struct InTurnRow {
  std::string name;
  std::vector<double> ns;
};

// Operations whose ratio matters, co-running in turn: `rounds` rounds, each running
// every operation for seconds / rounds, so that a drift of the machine (another
// process, the two threads' phase in their contention) falls on all of them alike.
// Returns, for each operation, every round's result (per_round[op][round]). The
// ratio of two is then measured on the same stretches of time.
std::vector<std::vector<CoRunResult>> CoRunInTurn(
    const std::vector<std::function<void(int, uint64_t)>>& batches, double seconds, int rounds);

// The same for one thread: each round runs every operation `n` times on this thread,
// timed by the thread's CPU clock. Returns ns per operation, per_round[op][round].
std::vector<std::vector<double>> AloneInTurn(
    const std::vector<std::function<void(int, uint64_t)>>& batches, uint64_t n, int rounds);

// Names of the operations measured in turn (InTurnRow::name is one of these, then
// ", 1 thread" or ", 2 threads co-running"), and the rounds.
inline constexpr const char* kFloorOneLine = "floor: fetch_add + CAS double, one line";
inline constexpr const char* kFloorWhereObserveWrites = "floor: sum CAS + its bucket's add";
inline constexpr const char* kObserveExponential = "Histogram::Observe, exponential";
inline constexpr const char* kPeerExponential = "prometheus-cpp Histogram::Observe, exp. bounds";
inline constexpr int kInTurnRounds = 30;

// The recording operations co-running, each for about `seconds`, and the exponential
// observe, its floors and its peer in turn with 1 and 2 threads into *in_turn
// (recording_bench.cc).
std::vector<CoRunRow> CoRunRecording(double seconds, std::vector<InTurnRow>* in_turn);

// Prints the rows with each one's ratio to `floor` (a row name).
void PrintCoRunning(std::ostream& out, const std::vector<CoRunRow>& rows, const std::string& floor);

}  // namespace shmstats::bench
