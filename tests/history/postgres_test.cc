// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL store against a real PostgreSQL 15 started here (initdb and pg_ctl
// as an unprivileged user, Unix socket only, stopped at the end): three instances'
// ticks give the same answers as each instance's SQLite store, per instance and
// summed; a tick written twice counts once; retention drops whole partitions
// (their hours then served by rollups);
// selectors that try SQL injection are inert.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "common/selector.h"
#include "daemon_harness.h"
#include "history/export.h"
#include "history/query.h"
#include "history/store.h"
#include "history/summary.h"
#include "history_samples.h"
#include "pg_server.h"

namespace shmstats::history {
namespace {

using shmstats::testing::PgServer;
using shmstats::testing::TempDir;
using namespace shmstats::history::test;

constexpr int64_t kHour0 = 1'789'999'200'000;
constexpr int64_t kMinute = 60'000;

std::vector<MetricSnapshot> TickSamples(int i, int k) {
  return {Counter("calls_total", static_cast<uint64_t>(i * (k + 1)), {{"tool", "x"}}),
          Gauge("depth", 0.1 * (k + 1) + (i % 3 == 0 ? -0.0 : i * 0.25), {{"tool", "x"}}),
          Hist("latency_seconds", {static_cast<uint64_t>(i), 0, static_cast<uint64_t>(k), 0, 1},
               0.5 * i + 3.0 * k + 9, {{"tool", "x"}})};
}

TEST(HistoryPostgresTest, ThreeInstancesMatchTheirSqliteStores) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  TempDir dir;
  const std::vector<std::string> instances = {"host-a", "host-b", "host-c"};
  {
    std::vector<std::unique_ptr<StoreWriter>> pgw, sqlw;
    for (const auto& name : instances) {
      pgw.push_back(OpenWriter(pg.url(), name));
      sqlw.push_back(OpenWriter(dir / (name + ".db"), name));
    }
    for (int i = 1; i <= 40; ++i) {
      for (int k = 0; k < 3; ++k) {
        TickRecord tick{kHour0 + i * kMinute, kMinute, TickSamples(i, k)};
        pgw[k]->Write(tick, {});
        if (i % 10 == 0) pgw[k]->Write(tick, {});  // re-sent after a "crash": no duplicate
        sqlw[k]->Write(tick, {});
      }
    }
  }
  HistoryReader pgr(pg.url());
  const QueryRange range{kHour0, kHour0 + 2 * 3'600'000, 5 * kMinute};
  std::vector<SummaryRow> sqlite_rows;
  for (const auto& name : instances) {
    SCOPED_TRACE(name);
    HistoryReader sqr(dir / (name + ".db"));
    auto sel = common::Selector::Parse("{instance=\"" + name + "\"}");
    auto from_pg = pgr.Query(sel, range);
    auto from_sqlite = sqr.Query(common::Selector(), range);
    ASSERT_EQ(from_pg.size(), 3u);
    EXPECT_EQ(HistoryToJson(from_pg, range).dump(), HistoryToJson(from_sqlite, range).dump());
    for (auto& row : Summarize(sqr, common::Selector(), {kHour0, kHour0 + 3'600'000, ""})) {
      sqlite_rows.push_back(std::move(row));
    }
  }
  // Summed over the instances: the three SQLite stores' rows added up.
  auto summed = Summarize(pgr, common::Selector(), {kHour0, kHour0 + 3'600'000, "tool"});
  ASSERT_EQ(summed.size(), 3u);
  for (const auto& row : summed) {
    SCOPED_TRACE(row.series.metric.name);
    EXPECT_EQ(row.members, 3);
    uint64_t increase = 0, count = 0;
    double last = 0;
    int64_t samples = 0;
    for (const auto& s : sqlite_rows) {
      if (s.series.metric.name != row.series.metric.name) continue;
      increase += s.acc.increase, count += s.acc.Count(), last += s.acc.last;
      samples += s.acc.samples;
    }
    EXPECT_EQ(row.acc.samples, samples);  // 40 per instance: the re-sent ticks count once
    EXPECT_EQ(row.acc.increase, increase);
    EXPECT_EQ(row.acc.Count(), count);
    if (row.series.metric.type == MetricType::kGauge) {
      EXPECT_DOUBLE_EQ(row.acc.last, last);
    }
  }
  auto by_instance = Summarize(pgr, common::Selector(), {kHour0, kHour0 + 3'600'000, "instance"});
  EXPECT_EQ(by_instance.size(), 9u);

  // OpenMetrics export: each instance's series is its own, with an instance label
  // (the same name and labels from three daemons are three series, not one).
  std::ostringstream om;
  Export(pgr, common::Selector::Parse("calls_total"), kHour0, kHour0 + 2 * 3'600'000,
         ExportFormat::kOpenMetrics, om);
  for (const auto& name : instances) {
    const int k = static_cast<int>(&name - instances.data());
    uint64_t total = 0;  // TickSamples: tick i adds i * (k + 1)
    for (int i = 1; i <= 40; ++i) total += static_cast<uint64_t>(i * (k + 1));
    const std::string last = fmt::format("calls_total{{instance=\"{}\",tool=\"x\"}} {} {}.000\n",
                                         name, total, (kHour0 + 40 * kMinute) / 1000);
    EXPECT_NE(om.str().find(last), std::string::npos) << last << om.str().substr(0, 2000);
  }

  // Injection attempts in selectors are values, bound as parameters: inert.
  for (const char* evil : {"calls_total{tool=\"x'); DROP TABLE shmstats_series; --\"}",
                           "calls_total{instance=\"' OR '1'='1\"}"}) {
    EXPECT_TRUE(pgr.Query(common::Selector::Parse(evil), range).empty()) << evil;
  }
  EXPECT_EQ(pgr.store().Series().size(), 9u);
}

TEST(HistoryPostgresTest, RetentionDropsWholeDailyPartitions) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  const int64_t day = 24 * 3'600'000L;
  auto w = OpenWriter(pg.url(), "solo");
  Retention keep_two_days{2 * day, 400 * day};
  w->Write({kHour0 - 5 * day, kMinute, {Gauge("g", 1)}}, keep_two_days);
  w->Write({kHour0 - 4 * day, kMinute, {Gauge("g", 2)}}, keep_two_days);
  HistoryReader r(pg.url());
  EXPECT_EQ(r.Query(common::Selector(), {kHour0 - 6 * day, kHour0, 3'600'000}).at(0).points.size(),
            2u);
  auto result = w->Write({kHour0, kMinute, {Gauge("g", 3)}}, keep_two_days);
  EXPECT_EQ(result.pruned_rows, 2);   // both old days' partitions, one row each
  EXPECT_EQ(result.rolled_hours, 1);  // the hour of the second (the first's: at the second)
  // The old days' hours are served by their rollups.
  auto after = r.Query(common::Selector(), {kHour0 - 6 * day, kHour0, 3'600'000});
  ASSERT_EQ(after.size(), 1u);
  ASSERT_EQ(after[0].points.size(), 3u);
  EXPECT_EQ(after[0].points[0].acc.last, 1);
  EXPECT_EQ(after[0].points[1].acc.last, 2);
  EXPECT_EQ(after[0].points[2].acc.last, 3);
}

}  // namespace
}  // namespace shmstats::history
