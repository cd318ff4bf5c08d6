// SPDX-License-Identifier: Apache-2.0
#pragma once

// The PostgreSQL store's writer: one daemon's ticks, under its instance name.
//
// A tick is one transaction: its samples in one INSERT ... SELECT FROM unnest(...),
// ON CONFLICT (series, ts_ms) DO NOTHING (a tick sent again adds nothing); then,
// when the tick is the first of a new hour, the daemon's completed hours are rolled
// up from its raw rows (at most two hours a tick, as SQLite does), each rollup
// written with ON CONFLICT DO UPDATE (rolling an hour again gives the same row); a
// tick that lands in an hour already rolled up (sent late from a spool) rolls that
// hour again. Then daily partitions older than the raw retention whose hours this
// daemon has rolled up are dropped, and rollups older than the rollup retention
// deleted. A tick older than the dropped partitions is ignored. (A partition holds every daemon's
// rows: one that stays down past the raw retention loses the hours it had not rolled up.)
//
// Every statement of a Write, and the connection, has the writer's deadline
// (conn.h): past it, Write throws StoreError (kUnavailable) and the writer is
// unusable. Thread-safety: one thread at a time.

#include <cstdint>
#include <optional>
#include <string>

#include "history/postgres/conn.h"
#include "history/series_ids.h"
#include "history/store.h"

namespace shmstats::history {

class PgWriter final : public StoreWriter {
 public:
  PgWriter(const std::string& url, std::string instance, int64_t timeout_ms);
  WriteResult Write(const TickRecord& tick, const Retention& retention) override;
  StorageStats Stats() override;

 private:
  void WriteTick(const TickRecord& tick, const Retention& retention, WriteResult& result);
  int64_t InsertSeries(const MetricSnapshot& m);
  void EnsurePartition(int64_t day);
  // Rolls up the completed hours this daemon has not rolled yet (at most two).
  void RollUp(int64_t now_ms, WriteResult& result);
  // Rolls one hour up from the raw rows of this daemon's series; returns the rows written.
  int64_t RollHour(int64_t hour);
  int64_t DropOldPartitions(int64_t now_ms, const Retention& retention);

  PgConn pg_;
  std::string instance_;
  std::string rolled_key_;  // "rolled_until_ms/<instance>"
  SeriesIds ids_;
  // Caches of what this transaction's rows say, cleared when a Write fails.
  std::optional<int64_t> rolled_until_;
  std::optional<int64_t> pruned_until_;  // "raw_pruned_until_ms"
  int64_t partition_day_ = INT64_MIN;
};

}  // namespace shmstats::history
