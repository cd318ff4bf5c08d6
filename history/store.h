// SPDX-License-Identifier: Apache-2.0
#pragma once

// The history store's face: the one header that the daemon, statsctl and the
// query engine include to write and read the history. Back ends: SQLite (a file
// path, the embedded default; history/sqlite/) and PostgreSQL (a postgresql:// URL,
// a fleet's one store; history/postgres/, a module loaded only when such a URL is
// opened). Nothing outside history/ reaches a back end but through OpenStore and
// OpenWriter. A store only keeps and returns rows; what a step, a rate or a
// quantile means is computed once, by the query engine (history/query.h) and Accum
// (history/accum.h), for every store.
//
// Thread-safety: a Store or StoreWriter belongs to one thread at a time; open one
// per thread or request. Errors: opening and every call throw StoreError, whose
// kind says what a caller can do about it.

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "shmstats/snapshot.h"

namespace shmstats::history {

inline constexpr int64_t kHourMs = 3'600'000;

// The error of every store.
class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    kFull,         // the disk or the database is full: the same write may succeed later
    kBusy,         // another connection holds the store's lock: retry later
    kCorrupt,      // not a history store, or a damaged one
    kVersion,      // written by a newer version of shmstats (a schema this build cannot read)
    kInterrupted,  // stopped by the caller (Store::SetInterrupt)
    kUnavailable,  // cannot be opened, read, written or reached (missing, permissions, I/O,
                   // network, server errors, back end not installed)
  };
  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

// True for postgresql:// and postgres:// URLs: the PostgreSQL store. Anything else
// is a SQLite file path.
bool IsPostgresUrl(std::string_view location);

// A series of the catalogue.
struct SeriesInfo {
  int64_t id = 0;
  MetricSnapshot metric;  // name, labels, type, help, unit, histogram.bounds and layout
  std::string instance;   // the daemon that wrote it ("" when not recorded)
  size_t Buckets() const { return metric.histogram.bounds.size() + 1; }
};

// The identity of a series: name, labels, type and (histograms) bucket bounds.
std::string SeriesKey(const MetricSnapshot& m);
// name{a="x",b="y"} with values escaped as in Prometheus; just name without labels.
std::string SeriesText(const std::string& name, const Labels& labels);

// How much a store holds: what `statsctl history info` and the daemon's /healthz show.
struct TableStats {
  std::string name;   // the table as the back end names it
  int64_t rows = 0;   // counted exactly
  int64_t bytes = 0;  // its pages with its indexes (PostgreSQL: pg_total_relation_size)
};
struct StorageStats {
  std::string backend;  // "sqlite" or "postgresql"
  // SQLite: page_count * page_size, and the file and its WAL as the file system sees
  // them. PostgreSQL: the sum of the tables' bytes (file_bytes 0).
  int64_t bytes = 0;
  int64_t file_bytes = 0;
  std::vector<TableStats> tables;
  int64_t series = 0;
  int64_t oldest_ms = 0, newest_ms = 0;  // raw samples' times; 0 without any
  int64_t rollup_from_ms = 0;            // the first rolled hour's start; 0 without rollups
  int64_t rollup_until_ms = 0;           // the last rolled hour's end
};

// ---- Writing ----

// One collection tick as stored. `samples` holds per-interval values: a counter's
// delta in `counter`, a gauge's value in `gauge`, a histogram's delta buckets and
// delta sum in `histogram`. Counters and histograms with no previous reading (the
// first tick after start or re-attach) are left out.
//
// `identities`, when not empty, holds for each sample a 64-bit hash of its name,
// labels, type and bounds that is never 0 (the daemon's SeriesIdentity); with the
// sample's descriptor `index` it lets a writer find the series without a key
// string (history/series_ids.h). A tick read back from the spool has none.
struct TickRecord {
  int64_t unix_ms = 0;
  int64_t interval_ms = 0;
  std::vector<MetricSnapshot> samples;
  std::vector<uint64_t> identities{};  // parallel to samples, or empty

  uint64_t Identity(size_t i) const { return i < identities.size() ? identities[i] : 0; }
};

struct Retention {
  int64_t raw_ms = 14 * 24 * kHourMs;
  int64_t rollup_ms = 400 * 24 * kHourMs;
};

struct WriteResult {
  int64_t rows = 0;          // sample and rollup rows inserted
  int64_t pruned_rows = 0;   // raw and rollup rows deleted
  int64_t rolled_hours = 0;  // hours rolled up in this tick
};

// The write side of a store: the daemon's one writer.
class StoreWriter {
 public:
  virtual ~StoreWriter() = default;
  // Stores one tick (and rolls up and prunes what retention says) in one
  // transaction. A failed Write leaves the store as before and the writer usable
  // after kFull and kBusy (retry the same tick); after any other kind, open a new
  // writer. Idempotent: a tick whose time the store already holds (sent again
  // after a crash) adds nothing.
  virtual WriteResult Write(const TickRecord& tick, const Retention& retention) = 0;
  // What the store holds (counts every row: seconds on a large store). Throws
  // StoreError.
  virtual StorageStats Stats() = 0;
};

// ---- Reading ----

// One stored sample as a store returns it: a counter's delta in `delta`, a gauge's
// value in `gauge`, a histogram's encoded delta buckets (history/codec.h) in `blob`.
struct StoredValue {
  uint64_t delta = 0;
  double gauge = 0;
  std::string_view blob;
};

// One hourly rollup row: n raw samples covering `ms` milliseconds; counters: the
// increase in value.delta; gauges: last in value.gauge, min, max and mean; histograms:
// the merged buckets in value.blob.
struct StoredRollup {
  int64_t n = 0;
  int64_t ms = 0;
  StoredValue value;
  double min = 0, max = 0, mean = 0;
};

// (ts_ms, interval_ms, value) of one raw sample; the tick at ts_ms covers
// (ts_ms - interval_ms, ts_ms].
using RawFn = std::function<void(int64_t ts_ms, int64_t interval_ms, const StoredValue&)>;
// (hour, rollup): the hour covers (hour * 3600000, (hour + 1) * 3600000].
using RollupFn = std::function<void(int64_t hour, const StoredRollup&)>;
// Raw samples of every series, tick-major: (ts_ms, interval_ms, series id, value).
using TickRowFn =
    std::function<void(int64_t ts_ms, int64_t interval_ms, int64_t series, const StoredValue&)>;

// The read side of a store.
class Store {
 public:
  virtual ~Store() = default;
  // Every series of the catalogue, sorted by name, type, labels, then instance.
  virtual std::vector<SeriesInfo> Series() = 0;
  // Raw rows older than this were pruned (their hours are served by rollups).
  virtual int64_t RawPrunedUntil() = 0;
  // Raw samples of one series with after_ms < ts_ms <= until_ms, in time order.
  virtual void ScanRaw(const SeriesInfo& s, int64_t after_ms, int64_t until_ms, const RawFn& f) = 0;
  // Rollups of one series with from_hour <= hour < to_hour, in time order.
  virtual void ScanRollups(const SeriesInfo& s, int64_t from_hour, int64_t to_hour,
                           const RollupFn& f) = 0;
  // Raw samples of every series with from_ms <= ts_ms <= to_ms, by tick then series.
  virtual void ScanTicks(int64_t from_ms, int64_t to_ms, const TickRowFn& f) = 0;
  // What the store holds, as StoreWriter::Stats.
  virtual StorageStats Stats() = 0;
  // Lets a caller bound a query's time: `stop` is polled while statements run, and
  // once it returns true the running call throws StoreError (kInterrupted). Empty:
  // never stops. SQLite polls it every 1,000 virtual machine steps, PostgreSQL every
  // 100 ms while it waits for the server (the connection is then abandoned: open a
  // new store).
  virtual void SetInterrupt(std::function<bool()> stop) { (void)stop; }
};

// ---- Opening ----

// Opens the store at `location` (a SQLite path or a PostgreSQL URL) read-only.
std::unique_ptr<Store> OpenStore(const std::string& location);

// Opens or creates the store at `location` for the daemon whose instance name is
// `instance` (stored with each series; "" records none). PostgreSQL: connecting and
// each Write are answered within `timeout_ms`, or throw StoreError (kUnavailable)
// and leave the writer unusable (open a new one); SQLite writes to a local file and
// does not use it.
inline constexpr int64_t kDefaultWriteTimeoutMs = 10'000;
std::unique_ptr<StoreWriter> OpenWriter(const std::string& location,
                                        const std::string& instance = "",
                                        int64_t timeout_ms = kDefaultWriteTimeoutMs);

}  // namespace shmstats::history
