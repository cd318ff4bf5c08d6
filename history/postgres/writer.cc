// SPDX-License-Identifier: Apache-2.0
#include "history/postgres/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <map>

#include "common/exposition.h"
#include "history/accum.h"
#include "history/codec.h"
#include "history/postgres/schema.h"

namespace shmstats::history {
namespace {

constexpr int64_t kDayMs = 24 * kHourMs;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Comma-separated elements of a PostgreSQL array literal, built as rows are added.
struct Column {
  std::string text;
  void Add(const std::string& v) {
    if (!text.empty()) text += ',';
    text += v;
  }
  std::string Array() const { return "{" + text + "}"; }
};

std::string Bytea(const std::string& bytes) { return "\"\\" + PgHex(bytes) + "\""; }

}  // namespace

PgWriter::PgWriter(const std::string& url, std::string instance, int64_t timeout_ms)
    : pg_(url, timeout_ms),
      instance_(std::move(instance)),
      rolled_key_("rolled_until_ms/" + instance_) {
  pg_.SetDeadline(PgConn::Clock::now() + std::chrono::milliseconds(timeout_ms));
  EnsurePgSchema(pg_);
  pg_.SetDeadline(PgConn::Clock::time_point::max());
}

WriteResult PgWriter::Write(const TickRecord& tick, const Retention& retention) {
  WriteResult result;
  pg_.SetDeadline(PgConn::Clock::now() + std::chrono::milliseconds(pg_.timeout_ms()));
  try {
    pg_.Exec("BEGIN");
    WriteTick(tick, retention, result);
    pg_.Exec("COMMIT");
  } catch (...) {
    try {
      pg_.Exec("ROLLBACK");
    } catch (...) {
    }
    ids_.Clear();  // series rows of the rolled-back transaction are gone
    rolled_until_.reset();
    pruned_until_.reset();
    partition_day_ = INT64_MIN;
    pg_.SetDeadline(PgConn::Clock::time_point::max());
    throw;
  }
  pg_.SetDeadline(PgConn::Clock::time_point::max());
  return result;
}

void PgWriter::EnsurePartition(int64_t day) {
  if (day == partition_day_) return;
  pg_.Exec(
      fmt::format("CREATE TABLE IF NOT EXISTS shmstats_samples_d{} PARTITION OF shmstats_samples "
                  "FOR VALUES FROM ({}) TO ({})",
                  day, day * kDayMs + 1, (day + 1) * kDayMs + 1));
  partition_day_ = day;
}

void PgWriter::WriteTick(const TickRecord& tick, const Retention& retention, WriteResult& result) {
  EnsurePartition(FloorDiv(tick.unix_ms - 1, kDayMs));
  Column ts, series, interval, delta, gauge, buckets;
  const SeriesIds::Insert insert = [this](const MetricSnapshot& m) { return InsertSeries(m); };
  for (size_t i = 0; i < tick.samples.size(); ++i) {
    const MetricSnapshot& m = tick.samples[i];
    ts.Add(std::to_string(tick.unix_ms));
    series.Add(std::to_string(ids_.Find(m, tick.Identity(i), insert)));
    interval.Add(std::to_string(tick.interval_ms));
    delta.Add(m.type == MetricType::kCounter ? std::to_string(static_cast<int64_t>(m.counter))
                                             : "NULL");
    gauge.Add(m.type == MetricType::kGauge ? PgFloat(m.gauge) : "NULL");
    buckets.Add(m.type == MetricType::kHistogram
                    ? Bytea(EncodeBuckets(m.histogram.counts, m.histogram.sum))
                    : "NULL");
  }
  if (!ts.text.empty()) {
    // One statement per tick; a tick sent again inserts nothing.
    pg_.Exec(
        "INSERT INTO shmstats_samples(ts_ms, series, interval_ms, delta, gauge, buckets) "
        "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
        "$5::float8[], $6::bytea[]) ON CONFLICT (series, ts_ms) DO NOTHING",
        {ts.Array(), series.Array(), interval.Array(), delta.Array(), gauge.Array(),
         buckets.Array()});
  }
  result.rows = static_cast<int64_t>(tick.samples.size());
  if (!rolled_until_) rolled_until_ = GetPgState(pg_, rolled_key_, INT64_MIN);
  // Late (from a spool, after its hour was rolled up): that hour again.
  if (tick.unix_ms <= *rolled_until_) result.rows += RollHour(FloorDiv(tick.unix_ms - 1, kHourMs));
  const int64_t rolled_before = *rolled_until_;
  RollUp(tick.unix_ms, result);
  if (*rolled_until_ != rolled_before)
    result.pruned_rows = DropOldPartitions(tick.unix_ms, retention);
  if (result.rolled_hours > 0) {
    auto r = pg_.Exec("DELETE FROM shmstats_rollups WHERE hour < $1",
                      {std::to_string(FloorDiv(tick.unix_ms - retention.rollup_ms, kHourMs))});
    (void)r;
  }
}

void PgWriter::RollUp(int64_t now_ms, WriteResult& result) {
  // Hours before the tick's own are complete; nothing to do while they are rolled.
  const int64_t complete_until = FloorDiv(now_ms - 1, kHourMs) * kHourMs;
  for (int i = 0; i < 2 && *rolled_until_ < complete_until; ++i) {
    auto first = pg_.Exec(
        "SELECT min(ts_ms) FROM shmstats_samples WHERE ts_ms > $1 AND ts_ms <= $2 AND series IN "
        "(SELECT id FROM shmstats_series WHERE instance = $3)",
        {std::to_string(*rolled_until_), std::to_string(complete_until), instance_});
    int64_t end_ms = complete_until;  // no raw rows left before it: rolled up to there
    if (!first->Null(0, 0)) {
      const int64_t hour = FloorDiv(first->Int(0, 0) - 1, kHourMs);
      result.rows += RollHour(hour);
      ++result.rolled_hours;
      end_ms = (hour + 1) * kHourMs;
    }
    rolled_until_ = end_ms;
    SetPgState(pg_, rolled_key_, end_ms);
  }
}

int64_t PgWriter::RollHour(int64_t hour) {
  struct Shape {
    MetricType type;
    size_t buckets;
  };
  std::map<int64_t, Shape> shapes;
  auto cat =
      pg_.Exec("SELECT id, type, bounds FROM shmstats_series WHERE instance = $1", {instance_});
  for (int i = 0; i < cat->Rows(); ++i) {
    const int64_t type = cat->Int(i, 1);
    if (type < 1 || type > 3) continue;
    shapes[cat->Int(i, 0)] = {static_cast<MetricType>(type),
                              DecodeBounds(PgUnhex(cat->Text(i, 2))).size() + 1};
  }
  auto raw = pg_.Exec(
      "SELECT series, interval_ms, delta, gauge, buckets FROM shmstats_samples "
      "WHERE ts_ms > $1 AND ts_ms <= $2 AND series IN "
      "(SELECT id FROM shmstats_series WHERE instance = $3) ORDER BY ts_ms",
      {std::to_string(hour * kHourMs), std::to_string((hour + 1) * kHourMs), instance_});
  std::map<int64_t, Accum> acc;
  std::string blob;
  for (int i = 0; i < raw->Rows(); ++i) {
    auto shape = shapes.find(raw->Int(i, 0));
    if (shape == shapes.end()) continue;
    auto [it, fresh] = acc.try_emplace(shape->first);
    if (fresh) it->second.Init(shape->second.type, shape->second.buckets);
    StoredValue v;
    if (!raw->Null(i, 2)) v.delta = static_cast<uint64_t>(raw->Int(i, 2));
    if (!raw->Null(i, 3)) v.gauge = raw->Double(i, 3);
    if (!raw->Null(i, 4)) {
      blob = PgUnhex(raw->Text(i, 4));
      v.blob = blob;
    }
    it->second.Add(v, raw->Int(i, 1));
  }
  if (acc.empty()) return 0;
  Column series, n, ms, delta, gauge, mn, mx, mean, buckets;
  for (const auto& [id, a] : acc) {
    const bool g = a.type == MetricType::kGauge;
    series.Add(std::to_string(id));
    n.Add(std::to_string(a.samples));
    ms.Add(std::to_string(a.covered_ms));
    delta.Add(a.type == MetricType::kCounter ? std::to_string(static_cast<int64_t>(a.increase))
                                             : "NULL");
    gauge.Add(g ? PgFloat(a.last) : "NULL");
    mn.Add(g ? PgFloat(a.min) : "NULL");
    mx.Add(g ? PgFloat(a.max) : "NULL");
    mean.Add(g ? PgFloat(a.mean) : "NULL");
    buckets.Add(a.type == MetricType::kHistogram ? Bytea(EncodeBuckets(a.counts, a.sum)) : "NULL");
  }
  pg_.Exec(
      "INSERT INTO shmstats_rollups(hour, series, n, ms, delta, gauge, mn, mx, mean, buckets) "
      "SELECT $1::bigint, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
      "$6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::bytea[]) "
      "ON CONFLICT (series, hour) DO UPDATE SET n = EXCLUDED.n, ms = EXCLUDED.ms, "
      "delta = EXCLUDED.delta, gauge = EXCLUDED.gauge, mn = EXCLUDED.mn, mx = EXCLUDED.mx, "
      "mean = EXCLUDED.mean, buckets = EXCLUDED.buckets",
      {std::to_string(hour), series.Array(), n.Array(), ms.Array(), delta.Array(), gauge.Array(),
       mn.Array(), mx.Array(), mean.Array(), buckets.Array()});
  return static_cast<int64_t>(acc.size());
}

int64_t PgWriter::InsertSeries(const MetricSnapshot& m) {
  const bool hist = m.type == MetricType::kHistogram;
  std::vector<std::string> p = {instance_,
                                m.name,
                                common::LabelsJson(m.labels).dump(),
                                std::to_string(static_cast<int>(m.type)),
                                PgHex(hist ? EncodeBounds(m.histogram.bounds) : std::string()),
                                std::to_string(hist ? LayoutWord(m.histogram) : 0),
                                m.help,
                                m.unit};
  pg_.Exec(
      "INSERT INTO shmstats_series(instance, name, labels, type, bounds, precision, help, unit) "
      "VALUES($1, $2, $3, $4, $5::bytea, $6, $7, $8) ON CONFLICT DO NOTHING",
      p);
  auto r = pg_.Exec(
      "SELECT id FROM shmstats_series WHERE instance = $1 AND name = $2 AND labels = $3 "
      "AND type = $4 AND bounds = $5::bytea",
      {p[0], p[1], p[2], p[3], p[4]});
  if (r->Rows() != 1) {
    throw StoreError(StoreError::Kind::kUnavailable,
                     "PostgreSQL: series row not found after insert");
  }
  return r->Int(0, 0);
}

// Drops every daily partition that ends before the raw retention and whose hours
// this daemon has rolled up.
int64_t PgWriter::DropOldPartitions(int64_t now_ms, const Retention& retention) {
  const int64_t keep_from_day = FloorDiv(now_ms - retention.raw_ms, kDayMs);
  auto r = pg_.Exec(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'shmstats_samples'::regclass");
  int64_t dropped = 0, pruned_until = INT64_MIN;
  for (int i = 0; i < r->Rows(); ++i) {
    std::string name(r->Text(i, 0));
    if (!name.starts_with("shmstats_samples_d")) continue;
    const int64_t day = std::strtoll(name.c_str() + 18, nullptr, 10);
    if (day < keep_from_day && (day + 1) * kDayMs <= *rolled_until_) {
      auto n = pg_.Exec("SELECT count(*) FROM " + name);  // a name this writer made
      dropped += n->Int(0, 0);
      pg_.Exec("DROP TABLE " + name);
      pruned_until = std::max(pruned_until, (day + 1) * kDayMs);
      if (day == partition_day_) partition_day_ = INT64_MIN;
    }
  }
  if (pruned_until != INT64_MIN) {
    SetPgState(pg_, "raw_pruned_until_ms", pruned_until, true);
    pruned_until_ = std::max(*pruned_until_, pruned_until);
  }
  return dropped;
}

StorageStats PgWriter::Stats() {
  pg_.SetDeadline(PgConn::Clock::now() + std::chrono::milliseconds(pg_.timeout_ms()));
  struct Lift {
    PgConn& pg;
    ~Lift() { pg.SetDeadline(PgConn::Clock::time_point::max()); }
  } lift{pg_};
  return PgStats(pg_);
}

}  // namespace shmstats::history
