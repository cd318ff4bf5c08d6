// SPDX-License-Identifier: Apache-2.0
#include "history/sqlite/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/exposition.h"
#include "history/codec.h"
#include "history/sqlite/db.h"

namespace shmstats::history {

void EnsureSchema(Db& db) {
  db.Exec(R"sql(
    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS series(
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL,
      type INTEGER NOT NULL, bounds BLOB NOT NULL, precision INTEGER NOT NULL,
      help TEXT NOT NULL, unit TEXT NOT NULL, UNIQUE(name, labels, type, bounds));
    CREATE TABLE IF NOT EXISTS ticks(
      id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, interval_ms INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS ticks_ts ON ticks(ts_ms);
    CREATE TABLE IF NOT EXISTS samples(
      tick INTEGER NOT NULL, series INTEGER NOT NULL, v,
      PRIMARY KEY(tick, series)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS rollup_hours(hour INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS rollups(
      hour INTEGER NOT NULL, series INTEGER NOT NULL, n INTEGER NOT NULL,
      ms INTEGER NOT NULL, v, mn, mx, sm,
      PRIMARY KEY(hour, series)) WITHOUT ROWID;
  )sql");
  int64_t version = GetMeta(db, "schema_version", 0);
  if (version != 0 && CheckSchema(db) == 1) {
    // Version 1 kept the sum of a gauge's samples in rollups.sm; 2 keeps their mean.
    db.Exec(
        "UPDATE rollups SET sm = sm / n WHERE n > 0 AND series IN "
        "(SELECT id FROM series WHERE type = 2)");
  }
  SetMeta(db, "schema_version", kSchemaVersion);
}

int CheckSchema(Db& db) {
  int64_t version = GetMeta(db, "schema_version", 0);
  if (version != 1 && version != kSchemaVersion) {
    throw StoreError(StoreError::Kind::kVersion,
                     fmt::format("history database has schema version {}, this build reads 1 to {}",
                                 version, kSchemaVersion));
  }
  return static_cast<int>(version);
}

std::vector<SeriesInfo> LoadSeries(Db& db) {
  std::vector<SeriesInfo> out;
  const std::string instance = GetMetaText(db, "instance");
  Stmt q = db.Prepare(
      "SELECT id, name, labels, type, bounds, precision, help, unit FROM series ORDER BY id");
  while (q.Step()) {
    SeriesInfo s;
    s.id = q.Int(0);
    s.metric.name = q.Text(1);
    auto labels = nlohmann::json::parse(q.Text(2), nullptr, false);
    if (labels.is_object()) {
      for (auto& [k, v] : labels.items()) {
        if (v.is_string()) s.metric.labels.emplace_back(k, v.get<std::string>());
      }
    }
    int64_t type = q.Int(3);
    if (type < 1 || type > 3) continue;  // not written by us: skip
    s.metric.type = static_cast<MetricType>(type);
    s.metric.histogram.bounds = DecodeBounds(q.Blob(4));
    ApplyLayoutWord(s.metric.histogram, static_cast<int32_t>(q.Int(5)));
    s.metric.help = q.Text(6);
    s.metric.unit = q.Text(7);
    s.instance = instance;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const SeriesInfo& a, const SeriesInfo& b) {
    return std::tie(a.metric.name, a.metric.type, a.metric.labels, a.id) <
           std::tie(b.metric.name, b.metric.type, b.metric.labels, b.id);
  });
  return out;
}

int64_t GetMeta(Db& db, const char* key, int64_t fallback) {
  Stmt q = db.Prepare("SELECT value FROM meta WHERE key = ?1");
  q.Bind(1, std::string_view(key));
  return q.Step() && q.IsInteger(0) ? q.Int(0) : fallback;
}

std::string GetMetaText(Db& db, const char* key) {
  Stmt q = db.Prepare("SELECT value FROM meta WHERE key = ?1");
  q.Bind(1, std::string_view(key));
  return q.Step() && !q.IsNull(0) && !q.IsInteger(0) ? std::string(q.Text(0)) : std::string();
}

void SetMetaText(Db& db, const char* key, const std::string& value) {
  Stmt q = db.Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
  q.Bind(1, std::string_view(key)).Bind(2, std::string_view(value)).Run();
}

void SetMeta(Db& db, const char* key, int64_t value) {
  Stmt q = db.Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
  q.Bind(1, std::string_view(key)).Bind(2, value).Run();
}

}  // namespace shmstats::history
