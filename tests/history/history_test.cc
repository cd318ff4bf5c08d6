// SPDX-License-Identifier: Apache-2.0
// The history library in-process: encodings, time and step parsing, and queries
// over ticks written with known values at chosen timestamps.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/selector.h"
#include "daemon_harness.h"
#include "history/codec.h"
#include "history/export.h"
#include "history/query.h"
#include "history/sqlite/db.h"
#include "history/sqlite/writer.h"
#include "history/summary.h"
#include "history/time.h"
#include "history_samples.h"
#include "non_finite.h"
#include "promtool_import.h"

namespace shmstats::history {
namespace {

using shmstats::testing::TempDir;
using namespace shmstats::history::test;

constexpr int64_t kT0 = 1'790'000'000'000;  // 2026-09-21T14:13:20Z
constexpr int64_t kMinute = 60'000;

std::vector<SeriesHistory> QueryDb(const std::string& db, const std::string& selector, int64_t from,
                                   int64_t to, int64_t step) {
  HistoryReader reader(db);
  auto parsed = selector.empty() ? common::Selector() : common::Selector::Parse(selector);
  return reader.Query(parsed, {from, to, step});
}

TEST(HistoryCodecTest, BucketsRoundTripAndRejectGarbage) {
  std::vector<uint64_t> counts = {0, 5, 0, 0, 300000, 1};
  std::string blob = EncodeBuckets(counts, 12.5);
  EXPECT_EQ(blob.size(), 8u + 2 + 4 + 2);  // sum, then (gap, count) varints
  std::vector<uint64_t> back(counts.size(), 0);
  double sum = 0;
  ASSERT_TRUE(DecodeBucketsInto(blob, back, sum));
  EXPECT_EQ(back, counts);
  EXPECT_EQ(sum, 12.5);
  std::vector<uint64_t> small(3, 0);
  EXPECT_FALSE(DecodeBucketsInto(blob, small, sum));  // bucket index out of range
  EXPECT_FALSE(DecodeBucketsInto("abc", back, sum));  // shorter than the sum
}

TEST(HistoryTimeTest, ParsesRfc3339AndRelativeForms) {
  const int64_t now = kT0;
  EXPECT_EQ(ParseTime("now", now), now);
  EXPECT_EQ(ParseTime("-1h", now), now - 3'600'000);
  EXPECT_EQ(ParseTime("now-15m", now), now - 900'000);
  EXPECT_EQ(ParseTime("-7d", now), now - 7 * 86'400'000LL);
  EXPECT_EQ(ParseTime("1970-01-01T00:01:00Z", now), 60'000);
  EXPECT_EQ(ParseTime("2026-09-21T14:13:20Z", now), kT0);
  EXPECT_EQ(ParseTime("2026-09-21T16:13:20.250+02:00", now), kT0 + 250);
  EXPECT_EQ(FormatRfc3339(kT0), "2026-09-21T14:13:20Z");
  EXPECT_EQ(FormatRfc3339(kT0 + 5), "2026-09-21T14:13:20.005Z");
  EXPECT_EQ(ParseTime("-1h30m", now), now - 5'400'000);  // PromQL compound durations
  EXPECT_EQ(ParseTime("now-90s", now), now - 90'000);
  EXPECT_EQ(ParseTime("-1d12h", now), now - 36 * 3'600'000LL);
  EXPECT_EQ(ParseTime("-1m500ms", now), now - 60'500);
  EXPECT_EQ(ParseTime("-1y", now), now - 365 * 86'400'000LL);
  EXPECT_EQ(ParseDuration("1h30m"), 5'400'000);
  EXPECT_EQ(ParseDuration("90s"), 90'000);
  for (const char* bad : {"", "1", "h", "30m1h", "1h1h", "1.5h", "1H", "1h 30m", "-1h", "101y"}) {
    EXPECT_THROW(ParseDuration(bad), Error) << bad;
  }
  for (const char* bad : {"", "yesterday", "1h", "-h", "-1h-30m", "-30m1h", "2026-13-01T00:00:00Z",
                          "2026-02-30T00:00:00Z", "2026-09-21T13:33:20", "2026-09-21",
                          "2026-09-21T13:33:20Z'; DROP TABLE ticks; --", "--1h"}) {
    EXPECT_THROW(ParseTime(bad, now), Error) << bad;
  }
}

TEST(HistoryTimeTest, StepsComeFromTheAllowlistOnly) {
  EXPECT_EQ(ParseStep("1m"), 60'000);
  EXPECT_EQ(ParseStep("1d"), 86'400'000);
  for (const char* bad : {"2m", "60s", "1M", "", "1m;", "1h OR 1=1"}) {
    EXPECT_THROW(ParseStep(bad), Error) << bad;
  }
}

// Counter deltas 10, 5, 3 over three minutes (the writer stores what the daemon's
// aggregation computed, including the 3 after a reset): increase and rate per step.
TEST(HistoryQueryTest, CounterIncreaseAndRate) {
  TempDir dir;
  std::string db = dir / "h.db";
  {
    SqliteWriter w(db);
    int64_t t = kT0 / 3'600'000 * 3'600'000 + 10 * kMinute;  // 10 min past an hour
    for (uint64_t d : {10, 5, 3}) {
      t += kMinute;
      w.Write({t, kMinute, {Counter("calls_total", d, {{"tool", "x"}}), Counter("other", 7)}}, {});
    }
  }
  int64_t hour = kT0 / 3'600'000 * 3'600'000;
  auto per_minute = QueryDb(db, "calls_total", hour, hour + 3'600'000, kMinute);
  ASSERT_EQ(per_minute.size(), 1u);
  ASSERT_EQ(per_minute[0].points.size(), 3u);
  EXPECT_EQ(per_minute[0].points[2].acc.increase, 3u);
  EXPECT_DOUBLE_EQ(PointRate(per_minute[0].points[0].acc), 10.0 / 60);
  auto per_hour = QueryDb(db, "calls_total{tool=\"x\"}", hour, hour + 3'600'000, 3'600'000);
  ASSERT_EQ(per_hour.size(), 1u);
  ASSERT_EQ(per_hour[0].points.size(), 1u);
  EXPECT_EQ(per_hour[0].points[0].acc.increase, 18u);
  EXPECT_DOUBLE_EQ(PointRate(per_hour[0].points[0].acc), 18.0 / 180);
}

TEST(HistoryQueryTest, GaugeMinAvgMaxLast) {
  TempDir dir;
  std::string db = dir / "h.db";
  int64_t hour = kT0 / 3'600'000 * 3'600'000;
  {
    SqliteWriter w(db);
    int64_t t = hour;
    for (double v : {4.0, -2.5, 7.0, 1.0}) w.Write({t += kMinute, kMinute, {Gauge("q", v)}}, {});
  }
  auto r = QueryDb(db, "q", hour, hour, 900'000);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].points.size(), 1u);
  const Accum& a = r[0].points[0].acc;
  EXPECT_EQ(a.min, -2.5);
  EXPECT_EQ(a.max, 7.0);
  EXPECT_DOUBLE_EQ(a.Avg(), 9.5 / 4);
  EXPECT_EQ(a.last, 1.0);
}

// Two intervals: 100 observations in (0,1], then 100 in (2,4]. Over the step the
// quantiles come from the merged buckets (p90 = 3.6), not from the average of the
// two intervals' p90s (0.9 and 3.8 -> 2.35).
TEST(HistoryQueryTest, HistogramQuantilesFromMergedBuckets) {
  TempDir dir;
  std::string db = dir / "h.db";
  int64_t hour = kT0 / 3'600'000 * 3'600'000;
  {
    SqliteWriter w(db);
    w.Write({hour + kMinute, kMinute, {Hist("lat", {100, 0, 0, 0, 0}, 50)}}, {});
    w.Write({hour + 2 * kMinute, kMinute, {Hist("lat", {0, 0, 100, 0, 0}, 300)}}, {});
  }
  auto r = QueryDb(db, "lat", hour, hour, 300'000);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].points.size(), 1u);
  HistogramValue h = PointHistogram(r[0].series, r[0].points[0].acc);
  EXPECT_EQ(h.count, 200u);
  EXPECT_EQ(h.sum, 350);
  EXPECT_DOUBLE_EQ(Quantile(h, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(Quantile(h, 0.9), 3.6);
  auto json = HistoryToJson(r, {hour, hour, 300'000});
  EXPECT_DOUBLE_EQ(json["series"][0]["points"][0]["p90"].template get<double>(), 3.6);
  EXPECT_EQ(json["series"][0]["points"][0]["count"].template get<uint64_t>(), 200u);
  std::string csv = HistoryToCsv(r, {hour, hour, 300'000});
  EXPECT_NE(csv.find(",lat,,histogram,,,,,,,200,350,1,3.6,"), std::string::npos) << csv;
}

// The writer inserts 64 rows per statement: a tick of 197 series (three full
// statements and a short one) stores each sample once with its own value; a series
// given twice keeps one sample.
TEST(SqliteWriterTest, EverySampleOfALargeTickIsStoredOnce) {
  TempDir dir;
  std::string db = dir / "h.db";
  constexpr int kSeries = 3 * 64 + 5;
  TickRecord tick{kT0, kMinute, {}};
  for (int i = 0; i < kSeries; ++i) {
    tick.samples.push_back(i % 2 ? Counter("c_total", 1000 + i, {{"i", std::to_string(i)}})
                                 : Gauge("g", i + 0.5, {{"i", std::to_string(i)}}));
  }
  tick.samples.push_back(Counter("c_total", 7, {{"i", "1"}}));  // c_total{i="1"} again
  SqliteWriter w(db);
  EXPECT_EQ(w.Write(tick, {}).rows, kSeries);
  Db check(db, Db::Mode::kReadOnly);
  Stmt q = check.Prepare(
      "SELECT s.name, s.labels, p.v FROM samples p JOIN series s ON s.id = p.series "
      "ORDER BY s.id");
  int n = 0;
  while (q.Step()) {
    auto labels = nlohmann::json::parse(q.Text(1));
    const int i = std::stoi(labels["i"].get<std::string>());
    if (q.Text(0) == "c_total") {
      EXPECT_EQ(q.Int(2), 1000 + i) << i;
    } else {
      EXPECT_EQ(q.Double(2), i + 0.5) << i;
    }
    ++n;
  }
  EXPECT_EQ(n, kSeries);
}

TEST(HistoryQueryTest, RejectsReversedAndOversizedRanges) {
  TempDir dir;
  std::string db = dir / "h.db";
  { SqliteWriter w(db); }
  EXPECT_THROW(QueryDb(db, "x", kT0, kT0 - 1, kMinute), Error);
  EXPECT_THROW(QueryDb(db, "x", kT0 - 30LL * 86'400'000, kT0, kMinute), Error);
  EXPECT_NO_THROW(QueryDb(db, "x", kT0 - 7LL * 86'400'000, kT0, kMinute));
}

// Hours of raw ticks are rolled up once complete; raw rows older than the raw
// retention are pruned (one hour per tick), and a 1h query then reads the rollups
// with the same answers; rollups older than their retention go too.
TEST(HistoryRetentionTest, RollsUpThenPrunesRawAndOldRollups) {
  TempDir dir;
  std::string db = dir / "h.db";
  const int64_t h0 = (kT0 / 3'600'000 - 100) * 3'600'000;
  SqliteWriter w(db);
  for (int64_t t = h0 + kMinute; t <= h0 + 3 * 3'600'000; t += 5 * kMinute) {
    w.Write({t, 5 * kMinute, {Counter("c_total", 2), Gauge("g", (t / kMinute) % 7)}}, {});
  }
  auto before = QueryDb(db, "", h0, h0 + 3 * 3'600'000, 3'600'000);
  Retention keep{.raw_ms = 24 * 3'600'000LL, .rollup_ms = 99 * 3'600'000LL};
  for (int i = 0; i < 8; ++i) w.Write({kT0 + i * kMinute, kMinute, {Gauge("g", 1)}}, keep);
  Db check(db, Db::Mode::kReadOnly);
  Stmt old_raw = check.Prepare("SELECT count(*) FROM ticks WHERE ts_ms <= ?1");
  old_raw.Bind(1, h0 + 3 * 3'600'000);
  ASSERT_TRUE(old_raw.Step());
  EXPECT_EQ(old_raw.Int(0), 0);
  Stmt rolled = check.Prepare("SELECT count(*), min(hour) FROM rollups");
  ASSERT_TRUE(rolled.Step());
  // Hour h0 (ticks in (h0, h0+1h]) is older than 99 h and was pruned; the next two stay.
  EXPECT_EQ(rolled.Int(1), h0 / 3'600'000 + 1);

  auto after = QueryDb(db, "", h0 + 3'600'000, h0 + 3 * 3'600'000, 3'600'000);
  ASSERT_EQ(after.size(), 2u);  // c_total and g, from rollups
  for (size_t s = 0; s < after.size(); ++s) {
    ASSERT_EQ(after[s].points.size(), 2u);
    for (size_t p = 0; p < 2; ++p) {
      const Accum& a = after[s].points[p].acc;
      const Accum& b = before[s].points[p + 1].acc;
      EXPECT_EQ(a.increase, b.increase);
      EXPECT_EQ(a.samples, b.samples);
      auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
      EXPECT_PRED2(same, a.min, b.min);  // a counter's min and max are NaN: no gauge value
      EXPECT_PRED2(same, a.max, b.max);
      EXPECT_EQ(a.last, b.last);
    }
  }
  EXPECT_EQ(after[0].points[0].acc.increase, 24u);  // 12 ticks of +2 per hour
}

MetricSnapshot WithUnit(MetricSnapshot m, const std::string& unit) {
  m.unit = unit;
  return m;
}

TEST(HistoryExportTest, OpenMetricsImportsWithPromtool) {
  TempDir dir;
  std::string db = dir / "h.db";
  {
    SqliteWriter w(db);
    for (int i = 1; i <= 5; ++i) {
      w.Write({kT0 + i * kMinute,
               kMinute,
               {Counter("calls_total", i, {{"tool", "a\"b\\c"}}),
                WithUnit(Gauge("q", i * 0.5), "bytes"),
                WithUnit(Hist("lat_seconds", {1, 0, 2, 0, uint64_t(i)}, 9.5), "seconds")}},
              {});
    }
  }
  HistoryReader reader(db);
  std::ostringstream om;
  Export(reader, common::Selector(), kT0, kT0 + 10 * kMinute, ExportFormat::kOpenMetrics, om);
  std::string text = om.str();
  EXPECT_NE(text.find("calls_total{tool=\"a\\\"b\\\\c\"} 15 1790000300.000"), std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with("# EOF\n"));
  EXPECT_NE(text.find("# UNIT lat_seconds seconds\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("# UNIT q "), std::string::npos) << text;  // no _bytes suffix: no UNIT
  EXPECT_EQ(PromtoolImport(text, dir), "");

  std::ostringstream csv, json;
  Export(reader, common::Selector::Parse("q"), kT0, kT0 + 10 * kMinute, ExportFormat::kCsv, csv);
  EXPECT_TRUE(csv.str().starts_with("time,name,labels,instance,type,value,")) << csv.str();
  EXPECT_NE(csv.str().find("2026-09-21T14:18:20Z,q,,,gauge,2.5,,"), std::string::npos) << csv.str();
  Export(reader, common::Selector(), kT0, kT0 + 10 * kMinute, ExportFormat::kJson, json);
  auto parsed = nlohmann::json::parse(json.str());
  EXPECT_EQ(parsed["samples"].size(), 15u);
  EXPECT_FALSE(parsed["samples"][0].contains("instance"));  // none recorded
  EXPECT_THROW(ParseExportFormat("xml"), Error);
}

// NaN, the infinities and -0 are gauge values like any other: stored and read back
// exactly (SQLite stores a NaN as NULL), through raw rows, hourly rollups, the CSV
// and OpenMetrics exports and the summary. min and max skip NaN, as PromQL's
// min_over_time and max_over_time do.
TEST(HistoryQueryTest, NonFiniteAndNegativeZeroGaugesRoundTrip) {
  TempDir dir;
  std::string db = dir / "h.db";
  const int64_t h0 = (kT0 / 3'600'000 - 100) * 3'600'000;
  {
    SqliteWriter w(db);
    for (int i = 1; i <= 3; ++i) {
      w.Write({h0 + i * kMinute, kMinute, NonFiniteGauges(i)}, {});
    }
  }
  const auto check = CheckNonFiniteGauges;
  check(QueryDb(db, "", h0, h0 + 3'600'000, 3'600'000), "raw");

  HistoryReader reader(db);
  std::ostringstream csv, om;
  Export(reader, common::Selector(), h0, h0 + 3'600'000, ExportFormat::kCsv, csv);
  for (const char* row : {",nan_g,,,gauge,NaN,", ",inf_g,,,gauge,+Inf,", ",ninf_g,,,gauge,-Inf,",
                          ",nzero_g,,,gauge,-0,"})
    EXPECT_NE(csv.str().find(row), std::string::npos) << row << "\n" << csv.str();
  Export(reader, common::Selector(), h0, h0 + 3'600'000, ExportFormat::kOpenMetrics, om);
  for (const char* line : {"\nnan_g NaN ", "\ninf_g +Inf ", "\nninf_g -Inf ", "\nnzero_g -0 "})
    EXPECT_NE(om.str().find(line), std::string::npos) << line << "\n" << om.str();
  EXPECT_EQ(PromtoolImport(om.str(), dir), "");

  auto rows = Summarize(reader, common::Selector::Parse("nan_g"), {h0, h0 + 3'600'000, ""});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(std::isnan(rows[0].acc.last) && std::isnan(rows[0].acc.min));
  EXPECT_NE(SummaryToCsv(rows).find(",NaN,NaN,NaN,NaN,"), std::string::npos) << SummaryToCsv(rows);

  // Rolled up into hours (raw rows older than a day are pruned), then read from rollups.
  {
    SqliteWriter w(db);
    w.Write({kT0, kMinute, {Gauge("other", 1)}},
            Retention{.raw_ms = 24 * 3'600'000LL, .rollup_ms = 400 * 3'600'000LL});
  }
  auto rolled = QueryDb(db, "", h0, h0 + 3'600'000, 3'600'000);
  std::erase_if(rolled,
                [](const SeriesHistory& s) { return !s.series.metric.name.ends_with("_g"); });
  check(rolled, "rollups");
}

// Export rows carry the instance that wrote the series: a fleet's store must say
// which host each row came from.
TEST(HistoryExportTest, RowsCarryTheInstance) {
  TempDir dir;
  std::string db = dir / "h.db";
  {
    SqliteWriter w(db, "node-7");
    w.Write({kT0 + kMinute, kMinute, {Counter("calls_total", 3, {{"tool", "x"}})}}, {});
  }
  HistoryReader reader(db);
  std::ostringstream csv, json;
  Export(reader, common::Selector(), kT0, kT0 + 10 * kMinute, ExportFormat::kCsv, csv);
  EXPECT_NE(csv.str().find(",calls_total,\"{tool=\"\"x\"\"}\",node-7,counter,3,"),
            std::string::npos)
      << csv.str();
  Export(reader, common::Selector(), kT0, kT0 + 10 * kMinute, ExportFormat::kJson, json);
  auto parsed = nlohmann::json::parse(json.str());
  ASSERT_EQ(parsed["samples"].size(), 1u);
  EXPECT_EQ(parsed["samples"][0]["instance"], "node-7");
  EXPECT_EQ(parsed["samples"][0]["value"], 3u);
}

// Families whose series are not neighbours by name ("x" and "x_total" are one
// counter family; "x_bar" sorts between them), and a family with two types.
TEST(HistoryExportTest, OpenMetricsKeepsFamiliesTogetherAndOneTypeEach) {
  TempDir dir;
  std::string db = dir / "h.db";
  {
    SqliteWriter w(db);
    for (int i = 1; i <= 3; ++i) {
      w.Write({kT0 + i * kMinute,
               kMinute,
               {Counter("x", 1, {{"a", "1"}}), Gauge("x_bar", i),
                Counter("x_total", 2, {{"a", "2"}}), Gauge("y", i), Counter("y_total", 5)}},
              {});
    }
  }
  HistoryReader reader(db);
  std::ostringstream om;
  Export(reader, common::Selector(), kT0, kT0 + 10 * kMinute, ExportFormat::kOpenMetrics, om);
  std::string text = om.str();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("# TYPE x counter\n"), 1u) << text;
  EXPECT_EQ(count("# TYPE y "), 1u) << text;
  EXPECT_EQ(count("x_total{a=\"1\"}"), 3u) << text;
  EXPECT_EQ(count("x_total{a=\"2\"}"), 3u) << text;
  EXPECT_EQ(count("y_total"), 0u) << text;  // family y is a gauge: the counter is left out
  EXPECT_EQ(PromtoolImport(text, dir), "");
}

}  // namespace
}  // namespace shmstats::history
