// SPDX-License-Identifier: Apache-2.0
#pragma once

// The collection loop: every interval, one snapshot of the segment, aggregated,
// written to the history database (one transaction), stats.json and the optional
// textfile. Failures are logged, counted and retried on the next tick:
//  - a missing segment is waited for; a removed or re-created one is re-attached;
//  - a history store that cannot be opened or written (unreachable, read-only,
//    disk full) gets its ticks later, in order, from the backlog (feed/history_feed.h:
//    an on-disk spool that survives a restart).
//
// Thread-safety: Run/Tick on one thread; Attached, LatestStats and self_metrics
// from any thread (the HTTP server's).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "daemon/aggregate.h"
#include "daemon/config.h"
#include "daemon/expiry.h"
#include "daemon/feed/history_feed.h"
#include "daemon/producer_activity.h"
#include "daemon/push/remote_write.h"
#include "daemon/retirement.h"
#include "daemon/self_metrics.h"
#include "daemon/stats_json.h"
#include "history/store.h"
#include "shmstats/error.h"
#include "shmstats/segment.h"

namespace shmstats::daemon {

class Collector {
 public:
  // Takes the database lock (throws shmstats::Error(kAlreadyExists) when another
  // shmstatsd holds it) and tries to open the history database (failures are
  // retried on each tick).
  explicit Collector(const Config& config);
  ~Collector();

  // Ticks every interval until Stop(); then takes a final tick and returns.
  void Run();
  void Stop();
  // One tick now.
  void Tick();

  // The segment, attached or re-attached as needed; null while it is missing.
  std::shared_ptr<const Segment> Attached();
  // The latest stats.json document; null before the first tick. Read back from
  // the stats.json file when the tick wrote it there (the daemon keeps no copy:
  // 19 MB at 100,000 series), else the copy kept in memory.
  std::shared_ptr<const std::string> LatestStats() const;
  bool HistoryHealthy() const { return history_->healthy(); }
  // How long the history write under way has run (ms); 0 when none runs.
  int64_t HistoryWriteRunningMs() const { return history_->running_ms(); }
  // A write has run longer than --history-stuck-after: /healthz then says "stuck".
  bool HistoryWriteStuck() const { return HistoryWriteRunningMs() > config_.history_stuck_ms; }
  // The latest measure of the history store; nullopt before the first.
  std::optional<HistoryFeed::Storage> HistoryStorage() const { return history_->storage(); }
  // Ticks (and their bytes on disk) waiting for the history store.
  HistoryFeed::Backlog HistoryBacklog() const { return history_->backlog(); }
  // The remote-write sender's state; nullopt without --remote-write.
  std::optional<RemoteWriter::Status> RemoteWriteStatus() const {
    return remote_ ? std::optional(remote_->status()) : std::nullopt;
  }
  // Unix ms of the last completed tick; 0 before the first.
  int64_t LastTickMs() const { return last_tick_ms_.load(); }
  // Called on Run()'s thread after each tick (ticked = true) and, while it waits,
  // at least every `every_ms` if that is > 0 (ticked = false): systemd's status and
  // watchdog, the D-Bus tick signal. Set before Run().
  void SetHeartbeat(std::function<void(bool ticked)> beat, int64_t every_ms);
  SelfMetrics& self_metrics() { return self_; }
  // What every reader of the segment does when a read fails (shrunk, corrupt):
  // counts and logs it (rate-limited) and, when the segment is corrupt, detaches, so
  // that Attached() maps it again once it is valid. Any thread.
  void SegmentFailed(const Error& e);
  // Held by each pass over every series: a tick, from its read to its history
  // write, and a /metrics or D-Bus render. At 100,000 series each holds tens of
  // megabytes, and one at a time bounds the daemon's peak memory by the largest, not
  // their sum. A render waits at most kRenderWait for a tick (a fraction of a second
  // at 100,000 series), then goes ahead without it: a history store that hangs
  // delays a scrape by that much, never more.
  static constexpr std::chrono::milliseconds kRenderWait{2000};
  using Pass = std::unique_lock<std::timed_mutex>;
  Pass TickPass() { return Pass(pass_mu_); }
  Pass RenderPass() { return Pass(pass_mu_, kRenderWait); }

 private:
  // Writes the baseline (baseline.h) for the tick whose record this is.
  void SaveState(const history::TickRecord& record);
  void WriteHistory(history::TickRecord record);
  void WriteFiles(const TickResult& tick);
  // Runs one step of Run(): an exception is logged and counted, never let out.
  void Guarded(const std::function<void()>& step);
  // When Run() wakes up next: `next`, or sooner for the heartbeat.
  std::chrono::steady_clock::time_point WakeUp(std::chrono::steady_clock::time_point next) const;
  // Drops the segment (truncated or corrupt under us): Attached() opens it again
  // once it is valid.
  void Detach();

  const Config config_;
  const int64_t started_ms_;  // the daemon's start (unix ms)
  SelfMetrics self_;
  Aggregator aggregator_;
  const std::string baseline_path_;  // STATE_DIR/baseline
  StatsJsonOrder stats_order_;       // stats.json's series order, kept between ticks

  std::timed_mutex pass_mu_;  // TickPass(), RenderPass()
  std::mutex segment_mu_;
  std::shared_ptr<const Segment> segment_;
  int64_t last_attach_try_ms_ = 0;
  bool logged_missing_ = false;
  Retirement retirement_;      // process-scoped series of exited processes
  Expiry expiry_;              // series idle past their TTL
  ProducerActivity activity_;  // producers' last activity (statsctl ps)

  std::unique_ptr<HistoryFeed> history_;

  mutable std::mutex stats_mu_;
  std::shared_ptr<const std::string> stats_;  // when not in the file
  bool stats_in_file_ = false;                // the last document is the file's

  std::atomic<int64_t> last_tick_ms_{0};
  std::function<void(bool)> beat_;
  int64_t beat_every_ms_ = 0;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::unique_ptr<RemoteWriter> remote_;  // --remote-write; before self_ in destruction
};

}  // namespace shmstats::daemon
