// SPDX-License-Identifier: Apache-2.0
// The history library's gauge means and range summaries, in-process: ticks written
// with known values, answers compared with values computed here.

#include "history/summary.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "common/selector.h"
#include "daemon_harness.h"
#include "history/query.h"
#include "history/sqlite/db.h"
#include "history/sqlite/writer.h"
#include "history/store.h"
#include "history_samples.h"
#include "shmstats/error.h"

namespace shmstats::history {
namespace {

using shmstats::testing::TempDir;
using test::Gauge;

constexpr int64_t kHour0 = 1'789'999'200'000;  // 2026-09-21T13:00:00Z, an hour boundary
constexpr int64_t kMinute = 60'000;

MetricSnapshot Counter(uint64_t delta, const std::string& tool) {
  return test::Counter("calls_total", delta, {{"tool", tool}});
}

MetricSnapshot Hist(std::vector<uint64_t> counts, double sum, const std::string& tool) {
  return test::Hist("latency_seconds", std::move(counts), sum, {{"tool", tool}});
}

// Writes `ticks` one-minute ticks from kHour0, the samples of tick i from make(i).
template <class F>
void WriteTicks(const std::string& db, int ticks, F make) {
  SqliteWriter w(db);
  for (int i = 1; i <= ticks; ++i) w.Write({kHour0 + i * kMinute, kMinute, make(i)}, {});
}

const Accum& OnePoint(const std::vector<SeriesHistory>& r) {
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.at(0).points.size(), 1u);
  return r.at(0).points.at(0).acc;
}

// A constant gauge averages to that constant exactly, per step, per hourly rollup,
// and over a summary; the largest doubles do not overflow; -0.0 keeps its sign.
TEST(HistoryGaugeTest, ConstantsAverageToThemselves) {
  for (double v : {0.1, 1.79e308, -DBL_MAX, -0.0, 1e-300}) {
    SCOPED_TRACE(v);
    TempDir dir;
    std::string db = dir / "h.db";
    WriteTicks(db, 130, [&](int) { return std::vector<MetricSnapshot>{Gauge("g", v)}; });
    HistoryReader reader(db);
    for (int64_t step : {kMinute, 15 * kMinute, 3'600'000L}) {
      auto r = reader.Query(common::Selector(), {kHour0, kHour0 + 7'200'000, step});
      ASSERT_EQ(r.size(), 1u);
      for (const auto& p : r[0].points) {
        EXPECT_EQ(p.acc.Avg(), v);
        EXPECT_EQ(std::signbit(p.acc.Avg()), std::signbit(v));
        EXPECT_EQ(std::signbit(p.acc.last), std::signbit(v));
        EXPECT_EQ(std::signbit(p.acc.min), std::signbit(v));
      }
      auto json = HistoryToJson(r, {kHour0, kHour0 + 7'200'000, step});
      EXPECT_FALSE(json["series"][0]["points"][0]["avg"].is_null());
      EXPECT_EQ(json["series"][0]["points"][0]["avg"].get<double>(), v);
    }
    auto s = Summarize(reader, common::Selector(), {kHour0, kHour0 + 130 * kMinute, ""});
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].acc.Avg(), v);
    EXPECT_EQ(std::signbit(s[0].acc.Avg()), std::signbit(v));
    EXPECT_EQ(SummaryToJson(s, {kHour0, kHour0 + 130 * kMinute, ""})["series"][0]["avg"].dump(),
              nlohmann::json(v).dump());
  }
}

// The same hour read from raw rows and, once its raw rows are pruned, from its
// rollup: the mean is the same (the rollup keeps a mean, not a sum).
TEST(HistoryGaugeTest, RollupKeepsTheMean) {
  TempDir dir;
  std::string db = dir / "h.db";
  {
    SqliteWriter w(db);
    Retention keep_one_hour{3'600'000, 400 * 24 * kHourMs};
    for (int i = 1; i <= 60 * 4; ++i) {
      w.Write({kHour0 + i * kMinute, kMinute, {Gauge("g", i % 7 == 0 ? 1e308 : -0.5 * i)}},
              keep_one_hour);
    }
  }
  double expected = 0;
  for (int i = 1; i <= 60; ++i) expected += (i % 7 == 0 ? 1e308 : -0.5 * i) / 60;
  HistoryReader reader(db);
  ASSERT_GT(reader.store().RawPrunedUntil(), kHour0) << "the first hour was not pruned";
  const Accum& a = OnePoint(reader.Query(common::Selector(), {kHour0 + 1, kHour0 + 1, 3'600'000}));
  EXPECT_EQ(a.samples, 60);
  EXPECT_NEAR(a.Avg(), expected, 1e294);
  EXPECT_EQ(a.max, 1e308);
  EXPECT_EQ(a.min, -0.5 * 60);
}

// A version 1 database (rollups kept the gauge's sum) is converted by the writer,
// and read correctly without conversion by a reader.
TEST(HistoryGaugeTest, ReadsAndConvertsSchemaVersion1) {
  TempDir dir;
  std::string db = dir / "h.db";
  {
    SqliteWriter w(db);
    Retention keep_one_hour{3'600'000, 400 * 24 * kHourMs};
    for (int i = 1; i <= 60 * 3; ++i) {
      w.Write({kHour0 + i * kMinute, kMinute, {Gauge("g", 2.0 + i % 2)}}, keep_one_hour);
    }
  }
  {  // back to version 1: sums in rollups
    Db raw(db, Db::Mode::kReadWrite);
    raw.Exec(
        "UPDATE rollups SET sm = sm * n; UPDATE meta SET value = 1 WHERE key='schema_version'");
  }
  auto first_hour = [&] {
    HistoryReader reader(db);
    return OnePoint(reader.Query(common::Selector(), {kHour0 + 1, kHour0 + 1, 3'600'000})).Avg();
  };
  EXPECT_EQ(first_hour(), 2.5);
  { SqliteWriter w(db); }
  {
    Db raw(db, Db::Mode::kReadOnly);
    EXPECT_EQ(GetMeta(raw, "schema_version", 0), kSchemaVersion);
  }
  EXPECT_EQ(first_hour(), 2.5);
}

// Summaries of all three types over (from, to], against values computed here, per
// series and grouped by a label.
TEST(HistorySummaryTest, ExactValuesPerSeriesAndGrouped) {
  TempDir dir;
  std::string db = dir / "h.db";
  const int kTicks = 90;
  auto counter_delta = [](int i, int k) { return static_cast<uint64_t>(i * (k + 1)); };
  auto gauge = [](int i, int k) { return 0.25 * i * (k ? -1 : 1) + k; };
  WriteTicks(db, kTicks, [&](int i) {
    std::vector<MetricSnapshot> s;
    for (int k = 0; k < 2; ++k) {
      std::string tool = k ? "b" : "a";
      s.push_back(Counter(counter_delta(i, k), tool));
      s.push_back(Gauge("depth", gauge(i, k), {{"tool", tool}}));
      // Observations: i in bucket 0 (<= 1) and 2k in bucket 3 (<= 8).
      s.push_back(Hist({static_cast<uint64_t>(i), 0, 0, static_cast<uint64_t>(2 * k), 0},
                       0.5 * i + 7.0 * 2 * k, tool));
    }
    return s;
  });
  // (from, to] holds ticks 11..70.
  const int64_t from = kHour0 + 10 * kMinute, to = kHour0 + 70 * kMinute;
  const int first = 11, last = 70, n = last - first + 1;
  HistoryReader reader(db);

  auto rows = Summarize(reader, common::Selector(), {from, to, ""});
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& row : rows) {
    const auto& m = row.series.metric;
    const int k = m.labels.at(0).second == "b" ? 1 : 0;
    SCOPED_TRACE(m.name + " " + m.labels.at(0).second);
    EXPECT_EQ(row.members, 1);
    EXPECT_EQ(row.acc.samples, n);
    if (m.type == MetricType::kCounter) {
      uint64_t inc = 0;
      for (int i = first; i <= last; ++i) inc += counter_delta(i, k);
      EXPECT_EQ(row.acc.increase, inc);
      EXPECT_DOUBLE_EQ(row.rate, static_cast<double>(inc) / (n * 60.0));
    } else if (m.type == MetricType::kGauge) {
      double mean = 0;
      for (int i = first; i <= last; ++i) mean += gauge(i, k);
      mean /= n;
      EXPECT_NEAR(row.acc.Avg(), mean, 1e-12 * std::fabs(mean));
      EXPECT_EQ(row.acc.min, std::min(gauge(first, k), gauge(last, k)));
      EXPECT_EQ(row.acc.max, std::max(gauge(first, k), gauge(last, k)));
      EXPECT_EQ(row.acc.last, gauge(last, k));
    } else {
      uint64_t low = 0;
      double sum = 0;
      for (int i = first; i <= last; ++i) low += i, sum += 0.5 * i + 14.0 * k;
      const uint64_t high = 2u * k * n, count = low + high;
      HistogramValue h = PointHistogram(row.series, row.acc);
      EXPECT_EQ(h.count, count);
      EXPECT_DOUBLE_EQ(h.sum, sum);
      // p50: rank 0.5 * count falls in bucket 0 (0, 1], interpolated linearly.
      EXPECT_DOUBLE_EQ(Quantile(h, 0.5), 0.5 * count / low);
      auto j = SummaryToJson({row}, {from, to, ""})["series"][0];
      EXPECT_EQ(j["count"].get<uint64_t>(), count);
      EXPECT_DOUBLE_EQ(j["mean"].get<double>(), sum / count);
      EXPECT_DOUBLE_EQ(j["p50"].get<double>(), 0.5 * count / low);
      if (k == 1) {
        // p99 lies among the 2n observations of (4, 8].
        double rank = 0.99 * count - low;
        EXPECT_DOUBLE_EQ(j["p99"].get<double>(), 4 + 4 * rank / high);
      }
    }
  }

  // Grouped by tool over both tools' series of a family: one row per (family, tool).
  auto by_tool = Summarize(reader, common::Selector::Parse("calls_total"), {from, to, "tool"});
  ASSERT_EQ(by_tool.size(), 2u);
  // Grouped by a label nobody has: one group per family, value "".
  auto all = Summarize(reader, common::Selector(), {from, to, "region"});
  ASSERT_EQ(all.size(), 3u);
  for (const auto& row : all) {
    EXPECT_EQ(row.members, 2);
    ASSERT_EQ(row.series.metric.labels.size(), 1u);
    EXPECT_EQ(row.series.metric.labels[0], (std::pair<std::string, std::string>{"region", ""}));
    if (row.series.metric.type == MetricType::kCounter) {
      uint64_t inc = 0;
      for (int i = first; i <= last; ++i) inc += counter_delta(i, 0) + counter_delta(i, 1);
      EXPECT_EQ(row.acc.increase, inc);
      EXPECT_DOUBLE_EQ(row.rate, static_cast<double>(inc) / (n * 60.0));
    } else if (row.series.metric.type == MetricType::kGauge) {
      double mean = 0;
      for (int i = first; i <= last; ++i) mean += gauge(i, 0) + gauge(i, 1);
      EXPECT_NEAR(row.acc.Avg(), mean / (2 * n), 1e-12 * std::fabs(mean / n));
      EXPECT_EQ(row.acc.last, gauge(last, 0) + gauge(last, 1));
      EXPECT_EQ(row.acc.min, gauge(last, 1));
      EXPECT_EQ(row.acc.max, gauge(last, 0));
    } else {
      EXPECT_EQ(row.acc.counts[0], 2u * (first + last) * n / 2);
      EXPECT_EQ(row.acc.counts[3], 2u * n);
    }
  }
  auto csv = SummaryToCsv(all);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "name,labels,instance,type,members,samples,increase,rate,min,avg,max,last,count,sum,"
            "mean,p50,p90,p99");
}

TEST(HistorySummaryTest, RejectsBadRangesAndGroupings) {
  TempDir dir;
  std::string db = dir / "h.db";
  WriteTicks(db, 2, [](int i) { return std::vector<MetricSnapshot>{Gauge("g", i)}; });
  HistoryReader reader(db);
  for (const SummaryRequest& bad :
       {SummaryRequest{kHour0, kHour0, ""}, SummaryRequest{kHour0 + 1, kHour0, ""},
        SummaryRequest{kHour0, kHour0 + 1, "a b"}, SummaryRequest{kHour0, kHour0 + 1, "x'--"},
        SummaryRequest{kHour0, kHour0 + 1, "1abc"}}) {
    EXPECT_THROW(Summarize(reader, common::Selector(), bad), Error) << bad.by;
  }
}

}  // namespace
}  // namespace shmstats::history
