// SPDX-License-Identifier: Apache-2.0
#include "history/sqlite/writer.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "common/exposition.h"
#include "history/accum.h"
#include "history/codec.h"
#include "history/sqlite/db.h"
#include "history/sqlite/reader.h"
#include "history/sqlite/stats.h"

namespace shmstats::history {
namespace {

int64_t FloorHour(int64_t ms) { return ms >= 0 ? ms / kHourMs : -((-ms + kHourMs - 1) / kHourMs); }

void BindValue(Stmt& s, int i, const MetricSnapshot& m) {
  switch (m.type) {
    case MetricType::kCounter:
      s.Bind(i, static_cast<int64_t>(m.counter));
      break;
    case MetricType::kGauge:
      // Integral gauges are stored as integers: SQLite then spends 0-6 bytes, not 8.
      // -0.0 stays a real, so that its sign is kept.
      if (std::nearbyint(m.gauge) == m.gauge && std::fabs(m.gauge) < 9e15 &&
          !(m.gauge == 0 && std::signbit(m.gauge))) {
        s.Bind(i, static_cast<int64_t>(m.gauge));
      } else {
        s.Bind(i, m.gauge);
      }
      break;
    case MetricType::kHistogram:
      s.BindBlob(i, EncodeBuckets(m.histogram.counts, m.histogram.sum));
      break;
  }
}

}  // namespace

SqliteWriter::SqliteWriter(const std::string& path, const std::string& instance)
    : db_(std::make_unique<Db>(path, Db::Mode::kReadWrite)) {
  db_->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  {
    Transaction tx(*db_);
    EnsureSchema(*db_);
    if (!instance.empty()) SetMetaText(*db_, "instance", instance);
    tx.Commit();
  }
  LoadCatalogue();
}

SqliteWriter::~SqliteWriter() = default;

void SqliteWriter::LoadCatalogue() {
  ids_.Clear();
  shapes_.clear();
  for (const auto& s : LoadSeries(*db_)) {
    ids_.Add(SeriesKey(s.metric), s.id);
    AddShape(s.id, s.metric.type, s.Buckets());
  }
}

void SqliteWriter::AddShape(int64_t id, MetricType type, size_t buckets) {
  const Shape shape{id, static_cast<uint32_t>(buckets), type};
  if (shapes_.empty() || shapes_.back().id < id) return shapes_.push_back(shape);
  auto at = std::lower_bound(shapes_.begin(), shapes_.end(), id,
                             [](const Shape& s, int64_t v) { return s.id < v; });
  if (at != shapes_.end() && at->id == id)
    *at = shape;
  else
    shapes_.insert(at, shape);
}

const SqliteWriter::Shape* SqliteWriter::FindShape(int64_t id) const {
  auto at = std::lower_bound(shapes_.begin(), shapes_.end(), id,
                             [](const Shape& s, int64_t v) { return s.id < v; });
  return at != shapes_.end() && at->id == id ? &*at : nullptr;
}

int64_t SqliteWriter::InsertSeries(const MetricSnapshot& m) {
  Stmt ins = db_->Prepare(
      "INSERT INTO series(name, labels, type, bounds, precision, help, unit) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  const bool hist = m.type == MetricType::kHistogram;
  ins.Bind(1, m.name)
      .Bind(2, common::LabelsJson(m.labels).dump())  // labels as stored: a JSON object
      .Bind(3, static_cast<int64_t>(m.type))
      .BindBlob(4, hist ? EncodeBounds(m.histogram.bounds) : std::string())
      .Bind(5, static_cast<int64_t>(hist ? LayoutWord(m.histogram) : 0))
      .Bind(6, m.help)
      .Bind(7, m.unit)
      .Run();
  int64_t id = sqlite3_last_insert_rowid(db_->raw());
  AddShape(id, m.type, m.histogram.bounds.size() + 1);
  return id;
}

WriteResult SqliteWriter::Write(const TickRecord& tick, const Retention& retention) {
  WriteResult result;
  try {
    Transaction tx(*db_);
    Stmt seen = db_->Prepare("SELECT 1 FROM ticks WHERE ts_ms = ?1");
    if (seen.Bind(1, tick.unix_ms).Step()) return result;  // sent again: already stored
    Stmt ins_tick = db_->Prepare("INSERT INTO ticks(ts_ms, interval_ms) VALUES(?1, ?2)");
    ins_tick.Bind(1, tick.unix_ms).Bind(2, tick.interval_ms).Run();
    int64_t tick_id = sqlite3_last_insert_rowid(db_->raw());
    // Insert in series-id order so that the tick's rows append in key order.
    std::vector<std::pair<int64_t, const MetricSnapshot*>> rows;
    rows.reserve(tick.samples.size());
    const SeriesIds::Insert insert = [this](const MetricSnapshot& m) { return InsertSeries(m); };
    for (size_t i = 0; i < tick.samples.size(); ++i) {
      const MetricSnapshot& m = tick.samples[i];
      rows.emplace_back(ids_.Find(m, tick.Identity(i), insert), &m);
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    rows.erase(std::unique(rows.begin(), rows.end(),  // a series twice: its first sample
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               rows.end());
    InsertSamples(tick_id, rows);
    result.rows += static_cast<int64_t>(rows.size());
    for (int i = 0; i < 2; ++i) {
      int64_t n = RollUp(tick.unix_ms);
      if (n < 0) break;
      result.rows += n;
      ++result.rolled_hours;
    }
    result.pruned_rows = Prune(tick.unix_ms, retention);
    tx.Commit();
  } catch (...) {
    LoadCatalogue();  // series rows inserted by the rolled-back transaction are gone
    throw;
  }
  return result;
}

StorageStats SqliteWriter::Stats() { return SqliteStats(*db_); }

// kBatch rows per INSERT statement: one statement per row spent more on starting and
// ending it (and on seeking the end of the table again) than on the row itself.
void SqliteWriter::InsertSamples(
    int64_t tick_id, const std::vector<std::pair<int64_t, const MetricSnapshot*>>& rows) {
  constexpr size_t kBatch = 64;
  auto statement = [&](size_t n) {
    std::string sql = "INSERT INTO samples(tick, series, v) VALUES";
    for (size_t r = 0; r < n; ++r) sql += r ? ",(?,?,?)" : "(?,?,?)";
    return db_->Prepare(sql);
  };
  std::optional<Stmt> full;
  for (size_t at = 0; at < rows.size();) {
    const size_t n = std::min(kBatch, rows.size() - at);
    if (n == kBatch && !full) full.emplace(statement(kBatch));
    std::optional<Stmt> rest;
    Stmt& ins = n == kBatch ? *full : rest.emplace(statement(n));
    for (size_t r = 0; r < n; ++r, ++at) {
      const int p = static_cast<int>(3 * r);
      ins.Bind(p + 1, tick_id).Bind(p + 2, rows[at].first);
      BindValue(ins, p + 3, *rows[at].second);
    }
    ins.Run();
  }
}

// Rolls up the oldest hour that has raw ticks, is complete (ends before now_ms) and
// has no rollup yet. Returns the rows written, or -1 when there is no such hour.
int64_t SqliteWriter::RollUp(int64_t now_ms) {
  int64_t rolled_until = GetMeta(*db_, "rolled_until_ms", INT64_MIN);
  Stmt first = db_->Prepare("SELECT min(ts_ms) FROM ticks WHERE ts_ms > ?1");
  first.Bind(1, rolled_until);
  if (!first.Step() || first.IsNull(0)) return -1;
  int64_t hour = FloorHour(first.Int(0) - 1);
  int64_t end_ms = (hour + 1) * kHourMs;
  if (end_ms >= now_ms) return -1;

  std::unordered_map<int64_t, Accum> acc;
  Stmt raw = db_->Prepare(
      "SELECT s.series, t.interval_ms, s.v FROM ticks t CROSS JOIN samples s "
      "ON s.tick = t.id WHERE t.ts_ms > ?1 AND t.ts_ms <= ?2 ORDER BY t.ts_ms");
  raw.Bind(1, hour * kHourMs).Bind(2, end_ms);
  while (raw.Step()) {
    const Shape* shape = FindShape(raw.Int(0));
    if (!shape) continue;
    auto [it, fresh] = acc.try_emplace(raw.Int(0));
    if (fresh) it->second.Init(shape->type, shape->buckets);
    it->second.Add(ReadValue(raw, 2), raw.Int(1));
  }
  Stmt ins = db_->Prepare(
      "INSERT OR REPLACE INTO rollups(hour, series, n, ms, v, mn, mx, sm) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  std::vector<int64_t> ids;
  for (const auto& [id, a] : acc) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (int64_t id : ids) {
    const Accum& a = acc[id];
    ins.Bind(1, hour).Bind(2, id).Bind(3, a.samples).Bind(4, a.covered_ms);
    switch (a.type) {
      case MetricType::kCounter:
        ins.Bind(5, static_cast<int64_t>(a.increase));
        break;
      case MetricType::kGauge:
        ins.Bind(5, a.last).Bind(6, a.min).Bind(7, a.max).Bind(8, a.mean);
        break;
      case MetricType::kHistogram:
        ins.BindBlob(5, EncodeBuckets(a.counts, a.sum));
        break;
    }
    ins.Run();
  }
  db_->Prepare("INSERT OR IGNORE INTO rollup_hours(hour) VALUES(?1)").Bind(1, hour).Run();
  SetMeta(*db_, "rolled_until_ms", end_ms);
  return static_cast<int64_t>(ids.size());
}

// Deletes at most one hour of raw ticks older than the raw retention (only hours
// already rolled up), and every rollup older than the rollup retention.
int64_t SqliteWriter::Prune(int64_t now_ms, const Retention& retention) {
  int64_t pruned = 0;
  int64_t rolled_until = GetMeta(*db_, "rolled_until_ms", INT64_MIN);
  int64_t cutoff = std::min(FloorHour(now_ms - retention.raw_ms) * kHourMs, rolled_until);
  Stmt oldest = db_->Prepare("SELECT min(ts_ms) FROM ticks");
  if (oldest.Step() && !oldest.IsNull(0) && oldest.Int(0) <= cutoff) {
    int64_t until = std::min(cutoff, (FloorHour(oldest.Int(0) - 1) + 1) * kHourMs);
    db_->Prepare("DELETE FROM samples WHERE tick IN (SELECT id FROM ticks WHERE ts_ms <= ?1)")
        .Bind(1, until)
        .Run();
    pruned += db_->Changes();
    db_->Prepare("DELETE FROM ticks WHERE ts_ms <= ?1").Bind(1, until).Run();
    SetMeta(*db_, "raw_pruned_until_ms", until);
  }
  int64_t keep_from = FloorHour(now_ms - retention.rollup_ms);
  Stmt old_hour = db_->Prepare("SELECT min(hour) FROM rollup_hours");
  if (old_hour.Step() && !old_hour.IsNull(0) && old_hour.Int(0) < keep_from) {
    db_->Prepare("DELETE FROM rollups WHERE hour < ?1").Bind(1, keep_from).Run();
    pruned += db_->Changes();
    db_->Prepare("DELETE FROM rollup_hours WHERE hour < ?1").Bind(1, keep_from).Run();
  }
  return pruned;
}

}  // namespace shmstats::history
