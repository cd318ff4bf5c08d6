// SPDX-License-Identifier: Apache-2.0
#pragma once

// The daemon's path from a tick to the history store. A tick is written at once
// when nothing waits before it. Otherwise (the store is unreachable, read-only,
// full or locked; or older ticks still wait) it joins the backlog: on disk in the
// spool (feed/spool.h, STATE_DIR/spool, which survives a restart), or in memory
// (up to kMaxPending ticks) when the spool cannot be written. The backlog is sent
// oldest first as soon as the store accepts writes again (after a reconnection or a
// restart), at most half an interval per tick so that collection keeps its pace;
// while it is sent, progress is shown on stderr when stderr is a terminal.
//
// Metrics (through SelfMetrics): shmstatsd_history_pending_ticks,
// shmstatsd_history_pending_bytes, shmstatsd_history_dropped_ticks_total{reason}.
//
// Thread-safety: Write, Flush and LogExit on one thread (the collector's); healthy()
// and backlog() from any thread. Errors: the constructor throws shmstats::Error
// (kAlreadyExists) when another shmstatsd holds the database's or the spool's lock;
// every other failure is logged, counted and retried.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>

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

class HistoryFeed {
 public:
  HistoryFeed(const Config& config, SelfMetrics& self);
  ~HistoryFeed();

  // Stores `tick`, or queues it behind the backlog; then sends what it can.
  void Write(history::TickRecord tick);
  // Sends what it can of the backlog (on a tick without a segment).
  void Flush();
  // Logs what is left at exit.
  void LogExit();

  // The store is open and its last write succeeded.
  bool healthy() const { return ok_.load(); }
  struct Backlog {
    uint64_t ticks = 0;
    uint64_t bytes = 0;  // of the spooled ticks (the in-memory ones are not counted)
  };
  Backlog backlog() const;

 private:
  struct Counters;  // shared with the metrics source
  void Open();
  void Enqueue(history::TickRecord tick);
  void Send();
  bool TryWrite(const history::TickRecord& tick, common::ProgressLine* progress);
  uint64_t Queued() const;
  void Publish();

  const Config& config_;
  SelfMetrics& self_;
  std::unique_ptr<LockFile> lock_;
  std::unique_ptr<history::StoreWriter> writer_;
  std::unique_ptr<TickSpool> spool_;
  std::deque<history::TickRecord> memory_;
  std::shared_ptr<Counters> counters_;
  std::atomic<bool> ok_{false};
  int64_t failures_ = 0;
  bool sending_ = false;  // a backlog is being sent (logged once at start and end)
  uint64_t sent_ = 0;
};

}  // namespace shmstats::daemon
