// SPDX-License-Identifier: Apache-2.0
#include "history/sqlite/reader.h"

#include <sqlite3.h>

#include "history/sqlite/db.h"
#include "history/sqlite/schema.h"
#include "history/sqlite/stats.h"

namespace shmstats::history {

StoredValue ReadValue(const Stmt& row, int col) {
  StoredValue v;
  if (row.IsBlob(col)) {
    v.blob = row.Blob(col);
  } else {
    v.delta = static_cast<uint64_t>(row.Int(col));
    v.gauge = row.Double(col);
  }
  return v;
}

namespace {

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : db_(path, Db::Mode::kReadOnly) {
    version_ = CheckSchema(db_);
    raw_ = std::make_unique<Stmt>(
        db_.Prepare("SELECT t.ts_ms, t.interval_ms, s.v FROM ticks t CROSS JOIN samples s "
                    "ON s.tick = t.id AND s.series = ?1 WHERE t.ts_ms > ?2 AND t.ts_ms <= ?3 "
                    "ORDER BY t.ts_ms"));
    rollups_ = std::make_unique<Stmt>(db_.Prepare(
        "SELECT h.hour, r.n, r.ms, r.v, r.mn, r.mx, r.sm FROM rollup_hours h CROSS JOIN rollups r "
        "ON r.hour = h.hour AND r.series = ?1 WHERE h.hour >= ?2 AND h.hour < ?3 "
        "ORDER BY h.hour"));
  }

  std::vector<SeriesInfo> Series() override { return LoadSeries(db_); }

  int64_t RawPrunedUntil() override { return GetMeta(db_, "raw_pruned_until_ms", INT64_MIN); }

  void ScanRaw(const SeriesInfo& s, int64_t after_ms, int64_t until_ms, const RawFn& f) override {
    Stmt& q = *raw_;
    q.Bind(1, s.id).Bind(2, after_ms).Bind(3, until_ms);
    while (q.Step()) f(q.Int(0), q.Int(1), ReadValue(q, 2));
    q.Reset();
  }

  void ScanRollups(const SeriesInfo& s, int64_t from_hour, int64_t to_hour,
                   const RollupFn& f) override {
    Stmt& q = *rollups_;
    q.Bind(1, s.id).Bind(2, from_hour).Bind(3, to_hour);
    while (q.Step()) {
      StoredRollup r{q.Int(1), q.Int(2), ReadValue(q, 3), q.Double(4), q.Double(5), q.Double(6)};
      if (version_ == 1 && r.n > 0) r.mean /= static_cast<double>(r.n);  // v1 kept the sum
      f(q.Int(0), r);
    }
    q.Reset();
  }

  StorageStats Stats() override { return SqliteStats(db_); }

  void SetInterrupt(std::function<bool()> stop) override {
    stop_ = std::move(stop);
    if (!stop_) return sqlite3_progress_handler(db_.raw(), 0, nullptr, nullptr);
    sqlite3_progress_handler(
        db_.raw(), 1000,
        [](void* self) { return static_cast<SqliteStore*>(self)->stop_() ? 1 : 0; }, this);
  }

  void ScanTicks(int64_t from_ms, int64_t to_ms, const TickRowFn& f) override {
    Stmt q = db_.Prepare(
        "SELECT t.ts_ms, t.interval_ms, s.series, s.v FROM ticks t CROSS JOIN samples s "
        "ON s.tick = t.id WHERE t.ts_ms >= ?1 AND t.ts_ms <= ?2 ORDER BY t.ts_ms, s.series");
    q.Bind(1, from_ms).Bind(2, to_ms);
    while (q.Step()) f(q.Int(0), q.Int(1), q.Int(2), ReadValue(q, 3));
  }

 private:
  Db db_;
  int version_ = kSchemaVersion;
  std::unique_ptr<Stmt> raw_, rollups_;  // prepared once, reset after each scan
  std::function<bool()> stop_;           // SetInterrupt's, polled by SQLite
};

}  // namespace

std::unique_ptr<Store> OpenSqliteStore(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace shmstats::history
