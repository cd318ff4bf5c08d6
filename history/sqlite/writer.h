// SPDX-License-Identifier: Apache-2.0
#pragma once

// The daemon's side of the SQLite history database: appends ticks, rolls completed hours
// up, and prunes what retention no longer keeps.
//
// Thread-safety: one thread at a time. Ownership: owns its database connection.
// Errors: the constructor and Write throw StoreError (disk full, read-only, I/O...).
// A failed Write leaves the database as it was before that tick (its transaction
// is rolled back) and the writer usable: the caller may retry the same tick.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "history/series_ids.h"
#include "history/sqlite/schema.h"
#include "history/store.h"
#include "shmstats/snapshot.h"

namespace shmstats::history {

class Db;
class Stmt;

// The SQLite store's writer (history/store.h opens one for a file path).
class SqliteWriter final : public StoreWriter {
 public:
  // Opens or creates the database at `path`: WAL journal, synchronous=NORMAL (a
  // committed tick survives a crash of the process; a power loss may lose the last
  // ticks but never corrupts the file). A non-empty `instance` is recorded as the
  // instance name of every series in the file.
  explicit SqliteWriter(const std::string& path, const std::string& instance = "");
  ~SqliteWriter() override;

  // In one transaction: the tick, its samples, up to two newly completed hours of
  // rollups, and one step of pruning (at most one hour of raw rows).
  WriteResult Write(const TickRecord& tick, const Retention& retention) override;
  StorageStats Stats() override;

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
