// SPDX-License-Identifier: Apache-2.0
#pragma once

// The PostgreSQL store's schema, its state rows and its storage statistics.
//
//   shmstats_series(id, instance, name, labels, type, bounds, precision, help, unit)
//   shmstats_samples(ts_ms, series, interval_ms, delta, gauge, buckets)
//       PRIMARY KEY (series, ts_ms), PARTITION BY RANGE (ts_ms): one partition per
//       UTC day (shmstats_samples_d<day>, holding (day*86400000, (day+1)*86400000]),
//       created by the writers; retention drops whole partitions.
//   shmstats_rollups(series, hour, n, ms, delta, gauge, mn, mx, mean, buckets)
//       PRIMARY KEY (series, hour): one row per series per completed hour, as
//       SQLite's rollups (history/sqlite/schema.h): n raw samples covering ms
//       milliseconds; delta = counter increase; gauge = last, mn/mx/mean; buckets =
//       merged histogram (history/codec.h).
//   shmstats_state(key, value): "raw_pruned_until_ms" (the end of the last dropped
//       partition: raw rows before it are served by rollups), and per writing daemon
//       "rolled_until_ms/<instance>" (its hours up to there are rolled up).
//
// Hour h covers (h*3600000, (h+1)*3600000], as in SQLite.

#include <cstdint>
#include <string>

#include "history/postgres/conn.h"
#include "history/store.h"

namespace shmstats::history {

// Creates the tables that do not exist yet (every writer at its start).
void EnsurePgSchema(PgConn& pg);
// True once EnsurePgSchema of this version ran on the store (it has rollups).
bool HasPgRollups(PgConn& pg);

int64_t GetPgState(PgConn& pg, const std::string& key, int64_t fallback);
// Sets `key` to `value`, or keeps a larger value when `keep_max`.
void SetPgState(PgConn& pg, const std::string& key, int64_t value, bool keep_max = false);

// Counts every table's rows and bytes (pg_total_relation_size; the samples' bytes
// are the sum over their partitions).
StorageStats PgStats(PgConn& pg);

}  // namespace shmstats::history
