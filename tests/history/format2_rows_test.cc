// SPDX-License-Identifier: Apache-2.0
// History written before native histograms (segment format 2: log-linear exponential
// buckets, 2^p equal buckets per power of two) stays readable and queryable after
// them. Format 2's writer stored the same tables as today's, with the histogram's
// precision p in series.precision where today's stores its layout word (0 explicit,
// 128 + schema native). Such rows read back as explicit buckets with their stored
// bounds; the same name recorded afterwards with native buckets is a second series
// (its bounds differ), and both are queried, rolled up and exported.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <sstream>

#include "common/selector.h"
#include "daemon_harness.h"
#include "history/export.h"
#include "history/query.h"
#include "history/sqlite/db.h"
#include "history/sqlite/writer.h"
#include "promtool_import.h"

namespace shmstats::history {
namespace {

using shmstats::history::test::PromtoolImport;
using shmstats::testing::ScopedSegmentName;
using shmstats::testing::TempDir;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kT0 = 1'790'000'000'000 / kHour * kHour;  // 2026-09-21T14:00:00Z

// Format 2's bounds for exponential buckets of precision p over [min, max], as its
// registration made them: the doubles whose low 52 - p bits are zero, from min's
// down to the one above max's bucket.
std::vector<double> LogLinearBounds(int p, double min, double max) {
  const int shift = 52 - p;
  const int64_t first = (std::bit_cast<int64_t>(min) >> shift) - 1;
  const int64_t last = std::bit_cast<int64_t>(max) >> shift;
  std::vector<double> bounds;
  for (int64_t k = first + 1; k <= last + 1; ++k)
    bounds.push_back(std::bit_cast<double>(k << shift));
  return bounds;
}

// One interval of a format-2 histogram: 10 observations at each upper bound given.
MetricSnapshot OldSample(const std::vector<double>& bounds, std::vector<double> at) {
  MetricSnapshot m;
  m.name = "lat_seconds";
  m.type = MetricType::kHistogram;
  m.unit = "seconds";
  m.histogram.bounds = bounds;
  m.histogram.counts.assign(bounds.size() + 1, 0);
  for (double hi : at) {
    m.histogram.counts[std::find(bounds.begin(), bounds.end(), hi) - bounds.begin()] += 10;
    m.histogram.count += 10;
    m.histogram.sum += 10 * hi;
  }
  return m;
}

// The same histogram as this version records it: native buckets of schema 2, read
// from a real segment.
MetricSnapshot NativeSample(const std::vector<double>& values) {
  ScopedSegmentName name(shmstats::testing::UniqueName("f2"));
  Segment segment = Segment::Create(name.str(), shmstats::testing::Small());
  Histogram h = segment.RegisterHistogram({"lat_seconds", {}, "Latency", "seconds"},
                                          ExponentialBuckets{.min = 1, .max = 8, .schema = 2});
  for (double v : values) h.Observe(v);
  for (auto& m : segment.Read().metrics)
    if (m.name == "lat_seconds") return m;
  ADD_FAILURE() << "the segment lost lat_seconds";
  return {};
}

TEST(Format2HistoryTest, LogLinearRowsStayQueryableBesideNativeOnes) {
  TempDir dir;
  const std::string db = dir / "h.db";
  const std::vector<double> old_bounds = LogLinearBounds(2, 1, 8);
  ASSERT_EQ(old_bounds.front(), 1.0);
  ASSERT_EQ(old_bounds[1], 1.25);      // four equal buckets per power of two
  ASSERT_EQ(old_bounds.back(), 10.0);  // the end of the bucket holding 8

  // Two hours of format 2: each minute 10 observations in (1.25, 1.5] and 10 in
  // (3, 3.5]; written as format 2 wrote them (the writer's rows, precision 2).
  {
    SqliteWriter w(db);
    for (int i = 1; i <= 120; ++i)
      w.Write({kT0 + i * kMinute, kMinute, {OldSample(old_bounds, {1.5, 3.5})}}, {});
  }
  {
    Db raw(db, Db::Mode::kReadWrite);
    raw.Exec("UPDATE series SET precision = 2 WHERE name = 'lat_seconds'");
  }

  // Then this version: the daemon opens the same store and records native buckets.
  const MetricSnapshot native = NativeSample({1.1, 1.1, 1.1, 5.0, 5.0, 5.0, 5.0});
  ASSERT_TRUE(native.histogram.exponential);
  {
    SqliteWriter w(db);
    for (int i = 121; i <= 180; ++i) w.Write({kT0 + i * kMinute, kMinute, {native}}, {});
  }

  HistoryReader reader(db);
  // By minute: raw samples. The format-2 series reads back as explicit buckets with
  // its stored bounds, its quantiles interpolated in them exactly.
  auto minutes =
      reader.Query(common::Selector::Parse("lat_seconds"), {kT0, kT0 + 4 * kHour, kMinute});
  ASSERT_EQ(minutes.size(), 2u);
  const SeriesHistory* old = nullptr;
  const SeriesHistory* now = nullptr;
  for (const auto& s : minutes) (s.series.metric.histogram.exponential ? now : old) = &s;
  ASSERT_NE(old, nullptr);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(old->series.metric.histogram.bounds, old_bounds);
  EXPECT_EQ(old->points.size(), 120u);
  EXPECT_EQ(now->points.size(), 60u);
  EXPECT_EQ(now->series.metric.histogram.schema, 2);
  {
    HistogramValue h = PointHistogram(old->series, old->points[7].acc);
    EXPECT_EQ(h.count, 20u);
    EXPECT_DOUBLE_EQ(h.sum, 50.0);
    EXPECT_DOUBLE_EQ(Quantile(h, 0.25), 1.375);  // rank 5 of 10 in (1.25, 1.5]
    EXPECT_DOUBLE_EQ(Quantile(h, 0.75), 3.25);   // rank 15: 5 of 10 in (3, 3.5]
  }
  {
    HistogramValue h = PointHistogram(now->series, now->points[0].acc);
    EXPECT_EQ(h.count, 7u);
    const double bound = std::exp2(std::exp2(-2)) - 1;  // schema 2's relative error
    EXPECT_LE(std::fabs(Quantile(h, 0.25) - 1.1) / 1.1, bound);
    EXPECT_LE(std::fabs(Quantile(h, 0.75) - 5.0) / 5.0, bound);
  }

  // By hour, first from the raw rows, then, once a later tick pruned them, from the
  // hourly rollups: the same counts and quantiles, merged bucket for bucket.
  auto by_hour = [&] {
    std::vector<std::pair<bool, HistogramValue>> out;
    for (const auto& s :
         reader.Query(common::Selector::Parse("lat_seconds"), {kT0, kT0 + 3 * kHour, kHour}))
      for (const auto& p : s.points)
        out.emplace_back(s.series.metric.histogram.exponential, PointHistogram(s.series, p.acc));
    return out;
  };
  const auto raw_hours = by_hour();
  ASSERT_EQ(raw_hours.size(), 3u);  // two format-2 hours, one native
  for (const auto& [exponential, h] : raw_hours) {
    EXPECT_EQ(h.count, exponential ? 60u * 7 : 60u * 20);
    if (!exponential) {
      EXPECT_DOUBLE_EQ(Quantile(h, 0.25), 1.375);
    }
  }
  // Exported: one metric whose ticks carry the format-2 buckets, then the native
  // ones; every line counts on from where it was (a bound both layouts have, like 2,
  // counts through the change), and promtool backfills it.
  std::ostringstream om;
  Export(reader, common::Selector(), kT0, kT0 + 4 * kHour, ExportFormat::kOpenMetrics, om);
  const std::string text = om.str();
  std::map<std::string, std::vector<double>> lines;  // series -> values in order
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#")) continue;
    std::istringstream fields(line);
    std::string series;
    double value = 0;
    fields >> series >> value;
    lines[series].push_back(value);
  }
  EXPECT_EQ(lines["lat_seconds_count"].size(), 180u);
  EXPECT_EQ(lines["lat_seconds_count"].back(), 120 * 20 + 60 * 7);
  EXPECT_NEAR(lines["lat_seconds_sum"].back(), 120 * 50 + 60 * (3 * 1.1 + 4 * 5.0), 1e-9);
  EXPECT_EQ(lines["lat_seconds_bucket{le=\"1.25\"}"].size(), 120u);              // format 2's only
  EXPECT_EQ(lines["lat_seconds_bucket{le=\"1.189207115002721\"}"].size(), 60u);  // 2^(1/4)
  EXPECT_EQ(lines["lat_seconds_bucket{le=\"2.0\"}"].size(), 180u);  // both layouts' bound
  EXPECT_EQ(lines["lat_seconds_bucket{le=\"2.0\"}"].back(), 120 * 10 + 60 * 3);
  for (const auto& [series, values] : lines)
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end())) << series << " drops";
  EXPECT_EQ(PromtoolImport(text, dir), "");
  {
    SqliteWriter w(db);
    for (int i = 0; i < 3; ++i)  // a tick prunes one hour
      w.Write({kT0 + 30 * kHour + i * kMinute, kMinute, {native}}, Retention{.raw_ms = 24 * kHour});
  }
  const auto rolled_hours = by_hour();
  ASSERT_EQ(rolled_hours.size(), raw_hours.size());
  for (size_t i = 0; i < raw_hours.size(); ++i) {
    EXPECT_EQ(rolled_hours[i].first, raw_hours[i].first);
    EXPECT_EQ(rolled_hours[i].second.counts, raw_hours[i].second.counts);
    EXPECT_EQ(rolled_hours[i].second.sum, raw_hours[i].second.sum);
  }
  {
    Db check(db, Db::Mode::kReadOnly);
    Stmt raw_left = check.Prepare("SELECT count(*) FROM ticks WHERE ts_ms <= ?1");
    raw_left.Bind(1, kT0 + 3 * kHour);
    ASSERT_TRUE(raw_left.Step());
    EXPECT_EQ(raw_left.Int(0), 0);  // the hours above came from rollups
  }
}

}  // namespace
}  // namespace shmstats::history
