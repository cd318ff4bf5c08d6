// SPDX-License-Identifier: Apache-2.0
#include "history/postgres/schema.h"

namespace shmstats::history {

void EnsurePgSchema(PgConn& pg) {
  pg.Exec(R"sql(
    CREATE TABLE IF NOT EXISTS shmstats_series(
      id BIGSERIAL PRIMARY KEY, instance TEXT NOT NULL, name TEXT NOT NULL,
      labels TEXT NOT NULL, type INTEGER NOT NULL, bounds BYTEA NOT NULL,
      precision INTEGER NOT NULL, help TEXT NOT NULL, unit TEXT NOT NULL,
      UNIQUE(instance, name, labels, type, bounds))
  )sql");
  pg.Exec(R"sql(
    CREATE TABLE IF NOT EXISTS shmstats_samples(
      ts_ms BIGINT NOT NULL, series BIGINT NOT NULL, interval_ms BIGINT NOT NULL,
      delta BIGINT, gauge DOUBLE PRECISION, buckets BYTEA,
      PRIMARY KEY(series, ts_ms)) PARTITION BY RANGE (ts_ms)
  )sql");
  pg.Exec(R"sql(
    CREATE TABLE IF NOT EXISTS shmstats_rollups(
      series BIGINT NOT NULL, hour BIGINT NOT NULL, n BIGINT NOT NULL, ms BIGINT NOT NULL,
      delta BIGINT, gauge DOUBLE PRECISION, mn DOUBLE PRECISION, mx DOUBLE PRECISION,
      mean DOUBLE PRECISION, buckets BYTEA, PRIMARY KEY(series, hour))
  )sql");
  pg.Exec("CREATE TABLE IF NOT EXISTS shmstats_state(key TEXT PRIMARY KEY, value BIGINT NOT NULL)");
}

bool HasPgRollups(PgConn& pg) {
  auto r = pg.Exec(
      "SELECT to_regclass('shmstats_rollups') IS NOT NULL AND "
      "to_regclass('shmstats_state') IS NOT NULL");
  return r->Rows() == 1 && r->Text(0, 0) == "t";
}

int64_t GetPgState(PgConn& pg, const std::string& key, int64_t fallback) {
  auto r = pg.Exec("SELECT value FROM shmstats_state WHERE key = $1", {key});
  return r->Rows() == 1 ? r->Int(0, 0) : fallback;
}

void SetPgState(PgConn& pg, const std::string& key, int64_t value, bool keep_max) {
  pg.Exec(std::string("INSERT INTO shmstats_state(key, value) VALUES($1, $2) ON CONFLICT (key) "
                      "DO UPDATE SET value = ") +
              (keep_max ? "GREATEST(shmstats_state.value, EXCLUDED.value)" : "EXCLUDED.value"),
          {key, std::to_string(value)});
}

StorageStats PgStats(PgConn& pg) {
  StorageStats st;
  st.backend = "postgresql";
  const bool rollups = HasPgRollups(pg);
  auto r = pg.Exec(std::string(R"sql(
    SELECT (SELECT count(*) FROM shmstats_series), pg_total_relation_size('shmstats_series'),
      (SELECT count(*) FROM shmstats_samples),
      (SELECT coalesce(sum(pg_total_relation_size(relid)), 0)
         FROM pg_partition_tree('shmstats_samples')),
      (SELECT min(ts_ms) FROM shmstats_samples), (SELECT max(ts_ms) FROM shmstats_samples)
  )sql") + (rollups ? R"sql(,
      (SELECT count(*) FROM shmstats_rollups), pg_total_relation_size('shmstats_rollups'),
      (SELECT count(*) FROM shmstats_state), pg_total_relation_size('shmstats_state'),
      (SELECT min(hour) FROM shmstats_rollups), (SELECT max(hour) FROM shmstats_rollups)
  )sql"
                    : ""));
  st.series = r->Int(0, 0);
  st.tables.push_back({"shmstats_series", r->Int(0, 0), r->Int(0, 1)});
  st.tables.push_back({"shmstats_samples", r->Int(0, 2), r->Int(0, 3)});
  if (!r->Null(0, 4)) st.oldest_ms = r->Int(0, 4);
  if (!r->Null(0, 5)) st.newest_ms = r->Int(0, 5);
  if (rollups) {
    st.tables.push_back({"shmstats_rollups", r->Int(0, 6), r->Int(0, 7)});
    st.tables.push_back({"shmstats_state", r->Int(0, 8), r->Int(0, 9)});
    if (!r->Null(0, 10)) st.rollup_from_ms = r->Int(0, 10) * kHourMs;
    if (!r->Null(0, 11)) st.rollup_until_ms = (r->Int(0, 11) + 1) * kHourMs;
  }
  for (const auto& t : st.tables) st.bytes += t.bytes;
  return st;
}

}  // namespace shmstats::history
