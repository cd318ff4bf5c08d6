// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL store's hourly rollups, storage statistics and non-finite gauges,
// against a real PostgreSQL 15 started here (tests/daemon/pg_server.h): 30 days of
// ticks give the same answers from PostgreSQL (rollups where its raw partitions
// were dropped) as from SQLite (its rollups) and from raw rows never pruned; the
// statistics of both stores match what PostgreSQL and the file system say.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "common/selector.h"
#include "daemon_harness.h"
#include "history/query.h"
#include "history/sqlite/db.h"
#include "history/store.h"
#include "history_samples.h"
#include "non_finite.h"
#include "pg_server.h"

namespace shmstats::history {
namespace {

using shmstats::testing::kPgBin;
using shmstats::testing::PgServer;
using shmstats::testing::Shell;
using shmstats::testing::TempDir;
using namespace shmstats::history::test;

constexpr int64_t kHour0 = 1'789'999'200'000;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 24 * kHourMs;

// A store that counts the rows its scans hand out.
class CountingStore final : public Store {
 public:
  explicit CountingStore(std::unique_ptr<Store> s) : s_(std::move(s)) {}
  std::vector<SeriesInfo> Series() override { return s_->Series(); }
  int64_t RawPrunedUntil() override { return s_->RawPrunedUntil(); }
  void ScanRaw(const SeriesInfo& s, int64_t after, int64_t until, const RawFn& f) override {
    s_->ScanRaw(s, after, until, [&](int64_t ts, int64_t iv, const StoredValue& v) {
      ++raw;
      f(ts, iv, v);
    });
  }
  void ScanRollups(const SeriesInfo& s, int64_t from, int64_t to, const RollupFn& f) override {
    s_->ScanRollups(s, from, to, [&](int64_t hour, const StoredRollup& r) {
      ++rollups;
      f(hour, r);
    });
  }
  void ScanTicks(int64_t from, int64_t to, const TickRowFn& f) override {
    s_->ScanTicks(from, to, f);
  }
  StorageStats Stats() override { return s_->Stats(); }
  int64_t raw = 0, rollups = 0;

 private:
  std::unique_ptr<Store> s_;
};

std::vector<MetricSnapshot> Samples(int i) {
  return {Counter("calls_total", static_cast<uint64_t>(i % 7 + 1)),
          Gauge("depth", i % 5 == 0 ? -0.0 : 0.25 * (i % 11) - 1),
          Hist("latency_seconds", {static_cast<uint64_t>(i % 3), 1, static_cast<uint64_t>(i % 2)},
               0.5 * (i % 4) + 1)};
}

// Equal answers, point by point: exact for counts, last, min and max; the mean and
// a histogram's sum to rounding (a rollup's mean is merged, the raw rows' is running).
void ExpectSameHistory(const std::vector<SeriesHistory>& a, const std::vector<SeriesHistory>& b,
                       const char* how) {
  SCOPED_TRACE(how);
  ASSERT_EQ(a.size(), b.size());
  for (size_t s = 0; s < a.size(); ++s) {
    SCOPED_TRACE(a[s].series.metric.name);
    ASSERT_EQ(a[s].points.size(), b[s].points.size());
    for (size_t p = 0; p < a[s].points.size(); ++p) {
      const Accum &x = a[s].points[p].acc, &y = b[s].points[p].acc;
      EXPECT_EQ(a[s].points[p].start_ms, b[s].points[p].start_ms);
      EXPECT_EQ(x.samples, y.samples);
      EXPECT_EQ(x.covered_ms, y.covered_ms);
      EXPECT_EQ(x.increase, y.increase);
      EXPECT_EQ(x.counts, y.counts);
      EXPECT_NEAR(x.sum, y.sum, 1e-9 * std::fabs(y.sum));
      if (x.type == MetricType::kGauge) {
        EXPECT_EQ(x.last, y.last);
        EXPECT_EQ(x.min, y.min);
        EXPECT_EQ(x.max, y.max);
        EXPECT_NEAR(x.mean, y.mean, 1e-12);
      }
    }
  }
}

// 31 days of 40-minute ticks, raw rows kept 2 days: a 30-day query at 1-day steps
// reads PostgreSQL's hourly rollups for the pruned days (counted rows) and gives the
// answer of SQLite's rollups exactly and of never-pruned raw rows (to rounding).
TEST(HistoryPostgresRollupTest, ThirtyDaysReadFromRollupsMatchRawRows) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  TempDir dir;
  const int64_t start = kHour0 - 31 * kDay, step = 40 * kMinute;  // 1 or 2 an hour
  const int ticks = static_cast<int>(31 * kDay / step);
  const Retention two_days{2 * kDay, 400 * kDay}, all{400 * kDay, 400 * kDay};
  {
    auto pgw = OpenWriter(pg.url(), "solo");
    auto pruned = OpenWriter(dir / "pruned.db", "solo");
    auto raw = OpenWriter(dir / "raw.db", "solo");
    int64_t rolled = 0;
    for (int i = 1; i <= ticks; ++i) {
      TickRecord tick{start + i * step, step, Samples(i)};
      rolled += pgw->Write(tick, two_days).rolled_hours;
      pruned->Write(tick, two_days);
      raw->Write(tick, all);
    }
    EXPECT_EQ(rolled, 31 * 24 - 1);  // every hour but the last, still open
    // A tick sent again late (from a spool) into a rolled-up hour changes nothing.
    pgw->Write({start + (ticks - 10) * step, step, Samples(ticks - 10)}, two_days);
  }
  const QueryRange range{start + kDay, start + 31 * kDay, kDay};
  auto counting = std::make_unique<CountingStore>(OpenStore(pg.url()));
  CountingStore* rows = counting.get();
  HistoryReader pgr(std::move(counting));
  EXPECT_GT(pgr.store().RawPrunedUntil(), start + 27 * kDay);
  auto from_pg = pgr.Query(common::Selector(), range);
  // Three series: rollups for at least 27 of the 30 days, raw rows for the rest.
  EXPECT_GE(rows->rollups, 3 * 27 * 24);
  EXPECT_LE(rows->raw, 3 * 3 * kDay / step);
  EXPECT_GT(rows->raw, 0);

  auto counting_raw = std::make_unique<CountingStore>(OpenStore(dir / "raw.db"));
  CountingStore* raw_rows = counting_raw.get();
  HistoryReader pruned(dir / "pruned.db"), raw(std::move(counting_raw));
  ASSERT_GT(pruned.store().RawPrunedUntil(), start + 27 * kDay);
  ASSERT_EQ(raw.store().RawPrunedUntil(), INT64_MIN);
  auto from_sqlite = pruned.Query(common::Selector(), range);
  auto from_raw = raw.Query(common::Selector(), range);
  ASSERT_EQ(from_pg.size(), 3u);
  ASSERT_GE(from_pg[0].points.size(), 30u);  // a point per day
  EXPECT_EQ(HistoryToJson(from_pg, range).dump(), HistoryToJson(from_sqlite, range).dump());
  ExpectSameHistory(from_pg, from_raw, "PostgreSQL rollups against raw rows");
  std::printf("30-day query: PostgreSQL read %lld rollup and %lld raw rows; raw-only SQLite %lld\n",
              static_cast<long long>(rows->rollups), static_cast<long long>(rows->raw),
              static_cast<long long>(raw_rows->raw));
}

// The statistics of each store match what the store itself says: PostgreSQL's
// pg_total_relation_size and count(*), SQLite's page count and the file sizes.
TEST(HistoryPostgresRollupTest, StorageStatisticsMatchTheStores) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  TempDir dir;
  const std::string db = dir / "h.db";
  {
    auto pgw = OpenWriter(pg.url(), "solo");
    auto sqw = OpenWriter(db, "solo");
    for (int i = 1; i <= 150; ++i) {  // 2.5 hours of minutes: two hours rolled up
      TickRecord tick{kHour0 + i * kMinute, kMinute, Samples(i)};
      pgw->Write(tick, {});
      sqw->Write(tick, {});
    }
  }
  const StorageStats st = OpenStore(pg.url())->Stats();
  EXPECT_EQ(st.backend, "postgresql");
  auto psql = [&](const std::string& sql) {
    auto r = Shell(std::string(kPgBin) + "/psql -XAtq -d '" + pg.url() + "' -c \"" + sql + "\"");
    EXPECT_EQ(r.status, 0) << r.out;
    return std::stoll(r.out);
  };
  std::map<std::string, TableStats> by_name;
  for (const auto& t : st.tables) by_name[t.name] = t;
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_EQ(by_name["shmstats_series"].bytes,
            psql("SELECT pg_total_relation_size('shmstats_series')"));
  EXPECT_EQ(by_name["shmstats_samples"].bytes,
            psql("SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                 "WHERE inhparent = 'shmstats_samples'::regclass"));
  EXPECT_EQ(by_name["shmstats_rollups"].bytes,
            psql("SELECT pg_total_relation_size('shmstats_rollups')"));
  EXPECT_EQ(by_name["shmstats_samples"].rows, 450);
  EXPECT_EQ(by_name["shmstats_rollups"].rows, 6);  // 3 series, 2 hours
  EXPECT_EQ(by_name["shmstats_series"].rows, 3);
  EXPECT_EQ(st.series, 3);
  int64_t sum = 0;
  for (const auto& t : st.tables) sum += t.bytes;
  EXPECT_EQ(st.bytes, sum);
  EXPECT_EQ(st.oldest_ms, kHour0 + kMinute);
  EXPECT_EQ(st.newest_ms, kHour0 + 150 * kMinute);
  EXPECT_EQ(st.rollup_from_ms, kHour0);
  EXPECT_EQ(st.rollup_until_ms, kHour0 + 2 * kHourMs);

  const StorageStats sq = OpenStore(db)->Stats();
  EXPECT_EQ(sq.backend, "sqlite");
  Db check(db, Db::Mode::kReadOnly);
  Stmt pages = check.Prepare(
      "SELECT page_count * page_size FROM pragma_page_count(), "
      "pragma_page_size()");
  ASSERT_TRUE(pages.Step());
  EXPECT_EQ(sq.bytes, pages.Int(0));
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto wal = fs::file_size(db + "-wal", ec);
  EXPECT_EQ(sq.file_bytes, static_cast<int64_t>(fs::file_size(db) + (ec ? 0 : wal)));
  int64_t table_bytes = 0;
  for (const auto& t : sq.tables) {
    table_bytes += t.bytes;
    const std::map<std::string, int64_t> rows = {{"samples", 450}, {"ticks", 150}, {"rollups", 6}};
    if (rows.count(t.name)) {
      EXPECT_EQ(t.rows, rows.at(t.name)) << t.name;
    }
  }
  EXPECT_LE(table_bytes, sq.bytes);  // sqlite_schema and free pages are the rest
  EXPECT_EQ(sq.series, 3);
  EXPECT_EQ(sq.oldest_ms, kHour0 + kMinute);
  EXPECT_EQ(sq.newest_ms, kHour0 + 150 * kMinute);
  EXPECT_EQ(sq.rollup_until_ms, st.rollup_until_ms);
}

// NaN, ±Inf and -0 gauges come back exactly from PostgreSQL's raw rows and from its
// rollups, as from SQLite's (history_test.cc).
TEST(HistoryPostgresRollupTest, NonFiniteAndNegativeZeroGaugesRoundTrip) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  const int64_t h0 = kHour0 - 10 * kDay;
  {
    auto w = OpenWriter(pg.url(), "solo");
    for (int i = 1; i <= 3; ++i) w->Write({h0 + i * kMinute, kMinute, NonFiniteGauges(i)}, {});
  }
  auto query = [&] {
    HistoryReader r(pg.url());
    auto out = r.Query(common::Selector(), {h0, h0 + kHourMs, kHourMs});
    std::erase_if(out,
                  [](const SeriesHistory& s) { return !s.series.metric.name.ends_with("_g"); });
    return out;
  };
  CheckNonFiniteGauges(query(), "raw");
  {  // days later, raw rows kept one day: the hour is rolled up and its partition dropped
    auto w = OpenWriter(pg.url(), "solo");
    w->Write({kHour0, kMinute, {Gauge("other", 1)}}, Retention{kDay, 400 * kDay});
  }
  ASSERT_GT(OpenStore(pg.url())->RawPrunedUntil(), h0 + kHourMs);
  CheckNonFiniteGauges(query(), "rollups");
}

}  // namespace
}  // namespace shmstats::history
