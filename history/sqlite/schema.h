// SPDX-License-Identifier: Apache-2.0
#pragma once

// The SQLite history database's schema (version 2) and its series catalogue.
//
//   meta(key PRIMARY KEY, value)            schema_version, rolled_until_ms, raw_pruned_until_ms,
//                                           instance (text: the writing daemon's name)
//   series(id, name, labels, type, bounds, precision, help, unit)
//   ticks(id INTEGER PRIMARY KEY, ts_ms, interval_ms)      one row per collection tick
//   samples(tick, series, v) WITHOUT ROWID, key (tick, series): one row per series
//       per tick; counters: delta; gauges: value; histograms: history/codec.h blob.
//       Keyed tick-first so that each tick appends at the end of the b-tree (pages
//       fill completely), and a one-series query is a point lookup per tick.
//   rollup_hours(hour INTEGER PRIMARY KEY)  hours (since the epoch) that have rollups
//   rollups(hour, series, n, ms, v, mn, mx, sm) WITHOUT ROWID, key (hour, series):
//       n raw samples covering ms milliseconds; v = counter increase, gauge last, or
//       merged histogram blob; mn/mx/sm = gauge min/max/mean. (Version 1 kept
//       the sum in sm; the writer converts a version 1 file to version 2 when it
//       opens it, and readers divide a version 1 sm by n.)
//
// A tick at ts_ms covers (ts_ms - interval_ms, ts_ms]; hour h covers
// (h*3600000, (h+1)*3600000].

#include <cstdint>
#include <string>
#include <vector>

#include "history/store.h"

namespace shmstats::history {

class Db;

inline constexpr int kSchemaVersion = 2;

// Creates the schema in an empty database, or checks the version of an existing
// one. Throws StoreError (kVersion) for a database written by a newer version.
void EnsureSchema(Db& db);
// Throws StoreError (kVersion) unless the database has a schema this version reads (1 or 2);
// returns the version.
int CheckSchema(Db& db);

// Every series of the catalogue, sorted by name, type, then labels: families
// together, as listings and the OpenMetrics export need.
std::vector<SeriesInfo> LoadSeries(Db& db);

int64_t GetMeta(Db& db, const char* key, int64_t fallback);
void SetMeta(Db& db, const char* key, int64_t value);
std::string GetMetaText(Db& db, const char* key);
void SetMetaText(Db& db, const char* key, const std::string& value);

}  // namespace shmstats::history
