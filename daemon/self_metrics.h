// SPDX-License-Identifier: Apache-2.0
#pragma once

// shmstatsd's own metrics, exported on /metrics beside the segment's:
//
//   shmstatsd_ticks_total                          counter
//   shmstatsd_tick_duration_seconds                histogram (snapshot+aggregate+write)
//   shmstatsd_history_write_duration_seconds       histogram
//   shmstatsd_history_rows_written_total           counter
//   shmstatsd_history_pending_ticks                gauge (ticks waiting for the store)
//   shmstatsd_history_pending_bytes, shmstatsd_history_dropped_ticks_total{reason}
//                                                  (added by HistoryFeed, feed/history_feed.h)
//   shmstatsd_errors_total{kind=segment|history|stats_json|textfile}   counter
//   shmstatsd_segment_up                           gauge (1 when attached)
//   shmstatsd_segment_metrics_used / _max, shmstatsd_segment_slots_used / _max   gauges
//   shmstatsd_segment_registrations_refused_total  counter (the segment's own count)
//   shmstatsd_segment_producers_used / _max        gauges (producer records)
//   shmstatsd_segment_producers_refused_total      counter (producers without a record)
//   shmstatsd_resident_memory_bytes                gauge (read at scrape time)
//   shmstatsd_last_tick_timestamp_seconds          gauge
//   shmstats_build_info{version,revision}           gauge, always 1
//   process_* of shmstatsd and its producers, shmstatsd_process_metrics_hidden
//                                                  (added by process_metrics.h, main.cc)
//
// The daemon's own families win over a producer's series of the same name.
//
// Thread-safety: every method may be called from any thread (one mutex).

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shmstats/segment.h"
#include "shmstats/snapshot.h"

namespace shmstats::daemon {

enum class ErrorKind { kSegment, kHistory, kStatsJson, kTextfile, kBaseline };

class SelfMetrics {
 public:
  SelfMetrics();
  void TickDone(double seconds, int64_t unix_ms);
  void HistoryWritten(double seconds, int64_t rows);
  void CountError(ErrorKind kind);
  void SetPending(size_t ticks);
  void SetSegment(const std::optional<SegmentInfo>& info);

  // Adds metrics of another part of the daemon (e.g. the statsd listener) to
  // Collect(). `source` is called without the lock (it may call this object), from
  // the thread calling Collect(); it must outlive this object.
  void AddSource(std::function<void(std::vector<MetricSnapshot>&)> source);

  // The metrics as snapshots, ready to be rendered with the segment's.
  std::vector<MetricSnapshot> Collect() const;
  // Adds Collect() to a segment's snapshot; the daemon's own families win over a
  // producer's metric of the same name (shmstatsd_*, or any name Collect() has),
  // which is removed.
  void AddTo(Snapshot& snap) const;

 private:
  mutable std::mutex mu_;
  uint64_t ticks_ = 0;
  HistogramValue tick_seconds_;
  HistogramValue write_seconds_;
  uint64_t rows_ = 0;
  uint64_t errors_[5] = {};
  size_t pending_ = 0;
  std::optional<SegmentInfo> segment_;
  int64_t last_tick_ms_ = 0;
  std::vector<std::function<void(std::vector<MetricSnapshot>&)>> sources_;
};

// A metric of the daemon's own, for Collect() and its sources; the caller sets the
// value.
MetricSnapshot OwnMetric(std::string name, MetricType type, std::string help,
                         std::string unit = "");

// The resident set size of this process, from /proc/self/statm; 0 if unknown.
uint64_t ResidentBytes();

}  // namespace shmstats::daemon
