#pragma once

// The history store behind one interface. Implementations: SQLite (a file path,
// the embedded default; history/sqlite/reader.h, history/sqlite/writer.h) and PostgreSQL (a
// postgresql:// URL, a fleet's one store; history/postgres/store.h). A store only keeps and
// returns rows; what a step, a rate or a quantile means is computed once, by the
// query engine (history/query.h) and Accum (history/accum.h), for every store.
//
// Thread-safety: a Store or StoreWriter belongs to one thread at a time; open one
// per thread or request. Errors: opening and every call throw history::DbError
// (the store is missing, unreadable, unreachable or of another schema version).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "history/sqlite/schema.h"
#include "history/sqlite/writer.h"  // StoreWriter, TickRecord

namespace shmstats::history {

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
  // Lets a caller bound a query's time: `stop` is polled while statements run, and
  // once it returns true the running call throws DbError. Empty: never stops.
  // SQLite polls it every 1,000 virtual machine steps; PostgreSQL does not poll
  // (the default), so only the query bounds limit it there.
  virtual void SetInterrupt(std::function<bool()> stop) { (void)stop; }
};

// Opens the store at `location` (a SQLite path or a PostgreSQL URL) read-only.
std::unique_ptr<Store> OpenStore(const std::string& location);

// Opens or creates the store at `location` for the daemon whose instance name is
// `instance` (stored with each series).
std::unique_ptr<StoreWriter> OpenWriter(const std::string& location, const std::string& instance);

}  // namespace shmstats::history
