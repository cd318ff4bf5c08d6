#pragma once

// The collection loop: every interval, one snapshot of the segment, aggregated,
// written to the history database (one transaction), stats.json and the optional
// textfile. Failures are logged, counted and retried on the next tick:
//  - a missing segment is waited for; a removed or re-created one is re-attached;
//  - a history database that cannot be opened or written (read-only, disk full)
//    keeps its ticks in memory (up to kMaxPending) and retries them in order.
//
// Thread-safety: Run/Tick on one thread; Attached, LatestStats and self_metrics
// from any thread (the HTTP server's).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "aggregate.h"
#include "config.h"
#include "history_writer.h"
#include "lock_file.h"
#include "self_metrics.h"
#include "shmstats/segment.h"

namespace shmstats::daemon {

inline constexpr size_t kMaxPending = 1440;

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
  // The latest stats.json document; empty before the first tick.
  std::string LatestStats() const;
  bool HistoryHealthy() const { return history_ok_.load(); }
  SelfMetrics& self_metrics() { return self_; }

 private:
  void OpenHistory();
  void WriteHistory(history::TickRecord record);
  void WriteFiles(const TickResult& tick);

  const Config config_;
  const int64_t started_ms_;  // the daemon's start (unix ms)
  SelfMetrics self_;
  Aggregator aggregator_;

  std::mutex segment_mu_;
  std::shared_ptr<const Segment> segment_;
  int64_t last_attach_try_ms_ = 0;
  bool logged_missing_ = false;

  std::unique_ptr<LockFile> lock_;
  std::unique_ptr<history::StoreWriter> writer_;
  std::deque<history::TickRecord> pending_;
  std::atomic<bool> history_ok_{false};
  int64_t history_failures_ = 0;

  mutable std::mutex stats_mu_;
  std::string stats_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
};

// Logs one line to stderr ("shmstatsd: <level>: <message>"); journald keeps it.
void Log(const char* level, const std::string& message);

}  // namespace shmstats::daemon
