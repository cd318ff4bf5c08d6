// SPDX-License-Identifier: Apache-2.0
#pragma once

// The daemon's path from a tick to the history store. The store is written by the
// feed's own thread, so that a store that stops answering never stops collection:
// the collector hands a tick over and waits for it at most half an interval; a
// write still running then goes on alone, and the ticks taken meanwhile join the
// backlog. A tick is written at once when nothing waits before it. Otherwise (the
// store is unreachable, read-only, full, locked or busy with an earlier write; or
// older ticks still wait) it joins the backlog: on disk in the spool (feed/spool.h,
// STATE_DIR/spool, which survives a restart), or in memory (up to kMaxPending
// ticks) when the spool cannot be written. A tick whose write failed goes back in
// front of the backlog, so the backlog stays in time order. The backlog is sent
// oldest first, kBatch ticks a hand-over, as soon as the store accepts writes again
// (after a reconnection or a restart); while it is sent, progress is shown on
// stderr when stderr is a terminal.
//
// A PostgreSQL write (and connection) that gets no answer within --history-timeout
// is abandoned (history/store.h, OpenWriter): its tick goes back to the backlog and
// the next hand-over connects again. A write running longer than
// --history-stuck-after makes /healthz say "stuck" before that.
//
// The writer thread also measures the store (StoreWriter::Stats) after the first
// write that stores rows and then every kStorageEveryMs; storage() returns the latest figures.
//
// Metrics (through SelfMetrics): shmstatsd_history_pending_ticks,
// shmstatsd_history_pending_bytes, shmstatsd_history_dropped_ticks_total{reason}.
//
// Thread-safety: Write, Flush and LogExit on one thread (the collector's);
// healthy(), running_ms(), backlog() and storage() from any thread. Errors: the
// constructor throws shmstats::Error (kAlreadyExists) when another shmstatsd holds
// the database's or the spool's lock; every other failure is logged, counted and
// retried.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "daemon/config.h"
#include "daemon/feed/spool.h"
#include "daemon/lock_file.h"
#include "daemon/self_metrics.h"
#include "history/store.h"

namespace shmstats::common {
class ProgressLine;
}

namespace shmstats::daemon {

inline constexpr size_t kMaxPending = 1440;  // ticks kept in memory when the spool fails
inline constexpr size_t kBatch = 16;         // backlog ticks handed over at once
inline constexpr int64_t kStorageEveryMs = 600'000;

class HistoryFeed {
 public:
  HistoryFeed(const Config& config, SelfMetrics& self);
  // Waits for the write under way (bounded by --history-timeout for PostgreSQL).
  ~HistoryFeed();

  // Stores `tick`, or queues it behind the backlog; then sends what it can.
  void Write(history::TickRecord tick);
  // Sends what it can of the backlog (on a tick without a segment).
  void Flush();
  // Waits for the write under way, queues its tick if it failed, and logs what is
  // left at exit.
  void LogExit();

  // The store is open and its last write succeeded.
  bool healthy() const { return ok_.load(); }
  // How long the store write (or connection) under way has run, in ms; 0 when none.
  int64_t running_ms() const;
  struct Backlog {
    uint64_t ticks = 0;
    uint64_t bytes = 0;  // of the spooled ticks (the in-memory ones are not counted)
  };
  Backlog backlog() const;
  // The latest measure of the store and when it was taken (unix ms); nullopt before
  // the first.
  struct Storage {
    history::StorageStats stats;
    int64_t taken_ms = 0;
  };
  std::optional<Storage> storage() const;

 private:
  struct Counters;  // shared with the metrics source
  // What the collector hands the writer thread: ticks to write in order.
  struct Job {
    std::vector<history::TickRecord> ticks;
    std::vector<uint64_t> seqs;  // spool numbers of the ticks (backlog from the spool)
    bool direct = false;         // one new tick, in no queue
  };

  // The writer thread.
  void Run();
  void Open();
  bool TryWrite(const history::TickRecord& tick);
  void Measure();

  // The collector's side.
  void Submit(Job job);
  void SubmitBacklog();
  bool AwaitDone(std::chrono::milliseconds bound);
  void Reap();
  bool Busy();
  void Enqueue(history::TickRecord tick);
  void Requeue(history::TickRecord tick);
  uint64_t Queued() const;
  void Publish();

  const Config& config_;
  SelfMetrics& self_;
  std::shared_ptr<Counters> counters_;
  // Collector thread only.
  std::unique_ptr<TickSpool> spool_;
  std::deque<history::TickRecord> memory_;
  std::unique_ptr<common::ProgressLine> progress_;
  bool sending_ = false;  // a backlog is being sent (logged once at start and end)
  uint64_t sent_ = 0;
  // Writer thread only (the lock also in the constructor, before it starts).
  std::unique_ptr<LockFile> lock_;
  std::unique_ptr<history::StoreWriter> writer_;
  int64_t failures_ = 0;
  int64_t measured_ms_ = 0;
  bool stored_rows_ = false;  // a write stored rows: there is something to measure
  // Shared, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> job_;
  bool done_ = false;   // job_ has run
  size_t written_ = 0;  // its ticks stored, in order
  bool stop_ = false;
  mutable std::mutex storage_mu_;
  std::optional<Storage> storage_;
  std::atomic<bool> ok_{false};
  std::atomic<int64_t> started_ms_{0};  // of the write under way; 0: none
  std::thread thread_;                  // last: started once everything else is
};

}  // namespace shmstats::daemon
