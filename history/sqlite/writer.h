#pragma once

// The daemon's side of the SQLite history database: appends ticks, rolls completed hours
// up, and prunes what retention no longer keeps.
//
// Thread-safety: one thread at a time. Ownership: owns its database connection.
// Errors: the constructor and Write throw DbError (disk full, read-only, I/O...).
// A failed Write leaves the database as it was before that tick (its transaction
// is rolled back) and the writer usable: the caller may retry the same tick.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "history/sqlite/schema.h"
#include "history/series_ids.h"
#include "shmstats/snapshot.h"

namespace shmstats::history {

class Db;
class Stmt;

// One collection tick as stored. `samples` holds per-interval values: a counter's
// delta in `counter`, a gauge's value in `gauge`, a histogram's delta buckets and
// delta sum in `histogram`. Counters and histograms with no previous reading (the
// first tick after start or re-attach) are left out.
//
// `identities`, when not empty, holds for each sample a 64-bit hash of its name,
// labels, type and bounds that is never 0 (the daemon's SeriesIdentity); with the
// sample's descriptor `index` it lets a writer find the series without a key
// string (series_ids.h). A tick read back from the spool has none.
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

// The write side of a store (store.h opens one by location): the daemon's one writer.
class StoreWriter {
 public:
  virtual ~StoreWriter() = default;
  // Stores one tick (and rolls up and prunes what retention says) in one
  // transaction. A failed Write leaves the store as before and the writer usable.
  // Idempotent: a tick whose time the store already holds (sent again after a
  // crash) adds nothing.
  virtual WriteResult Write(const TickRecord& tick, const Retention& retention) = 0;
};

// The SQLite store's writer.
class HistoryWriter final : public StoreWriter {
 public:
  // Opens or creates the database at `path`: WAL journal, synchronous=NORMAL (a
  // committed tick survives a crash of the process; a power loss may lose the last
  // ticks but never corrupts the file). A non-empty `instance` is recorded as the
  // instance name of every series in the file.
  explicit HistoryWriter(const std::string& path, const std::string& instance = "");
  ~HistoryWriter() override;

  // In one transaction: the tick, its samples, up to two newly completed hours of
  // rollups, and one step of pruning (at most one hour of raw rows).
  WriteResult Write(const TickRecord& tick, const Retention& retention) override;

 private:
  int64_t InsertSeries(const MetricSnapshot& m);
  // The tick's samples, in series-id order with no series twice.
  void InsertSamples(int64_t tick_id,
                     const std::vector<std::pair<int64_t, const MetricSnapshot*>>& rows);
  int64_t RollUp(int64_t now_ms);
  int64_t Prune(int64_t now_ms, const Retention& retention);
  void LoadCatalogue();

  std::unique_ptr<Db> db_;
  // What a rollup needs of a series: not its names and labels. 16 bytes a series,
  // sorted by id (ids only grow: a new series is appended).
  struct Shape {
    int64_t id;
    uint32_t buckets;
    MetricType type;
  };
  void AddShape(int64_t id, MetricType type, size_t buckets);
  const Shape* FindShape(int64_t id) const;
  SeriesIds ids_;
  std::vector<Shape> shapes_;
};

}  // namespace shmstats::history
