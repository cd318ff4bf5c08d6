// SPDX-License-Identifier: Apache-2.0
// The Aggregator matches each series with its previous snapshot by descriptor index
// and identity, and stats.json keeps its series order between ticks: what a reused
// descriptor, a vanished series and a new one do to both.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/aggregate.h"
#include "daemon/stats_json.h"

namespace shmstats::daemon {
namespace {

MetricSnapshot CounterAt(uint32_t index, const std::string& name, uint64_t value,
                         Labels labels = {}) {
  MetricSnapshot m;
  m.name = name;
  m.labels = std::move(labels);
  m.type = MetricType::kCounter;
  m.counter = value;
  m.index = index;
  return m;
}

Snapshot At(int64_t second, std::vector<MetricSnapshot> metrics) {
  Snapshot s;
  s.taken_unix_ns = static_cast<uint64_t>(second) * 1'000'000'000;
  s.instance_id = 7;
  s.metrics = std::move(metrics);
  return s;
}

TEST(AggregatorTest, DeltaOfTheSameSeriesAtTheSameDescriptor) {
  Aggregator agg;
  agg.Next(At(100, {CounterAt(0, "a_total", 10)}), 1000);
  TickResult r = agg.Next(At(101, {CounterAt(0, "a_total", 15)}), 1000);
  ASSERT_EQ(r.stats.size(), 1u);
  EXPECT_TRUE(r.stats[0].has_delta);
  EXPECT_EQ(r.stats[0].delta, 5u);
  EXPECT_DOUBLE_EQ(r.stats[0].rate, 5.0);
}

TEST(AggregatorTest, ADescriptorReusedByAnotherSeriesCountsItFromZero) {
  Aggregator agg;
  agg.Next(At(100, {CounterAt(3, "a_total", 1000, {{"w", "1"}})}), 1000);
  // Same index, other labels: a new series registered during the interval.
  TickResult r = agg.Next(At(101, {CounterAt(3, "a_total", 4, {{"w", "2"}})}), 1000);
  EXPECT_EQ(r.stats[0].delta, 4u);
  EXPECT_NE(SeriesIdentity(CounterAt(3, "a_total", 0, {{"w", "1"}})),
            SeriesIdentity(CounterAt(3, "a_total", 0, {{"w", "2"}})));
}

TEST(AggregatorTest, ASeriesMissingForATickIsNewWhenItComesBack) {
  Aggregator agg;
  agg.Next(At(100, {CounterAt(0, "a_total", 50), CounterAt(1, "b_total", 1)}), 1000);
  agg.Next(At(101, {CounterAt(1, "b_total", 2)}), 1000);
  TickResult r = agg.Next(At(102, {CounterAt(0, "a_total", 7), CounterAt(1, "b_total", 3)}), 1000);
  EXPECT_EQ(r.stats[0].delta, 7u);  // not 7 - 50 (a wrap)
  EXPECT_EQ(r.stats[1].delta, 1u);
}

// A float counter: the history gets the whole part's increase (so fractions carry over
// to the tick where they add up), the rate the doubles'; a reset is no drop.
TEST(AggregatorTest, FloatCounterDeltasAreWholeAndCarryTheirFractions) {
  auto fractional = [](double value, double reset_total) {
    MetricSnapshot m = CounterAt(0, "f_total", 0);
    m.fractional = true;
    m.counter_double = value;
    m.counter_double_reset_total = reset_total;
    return m;
  };
  Aggregator agg;
  agg.Next(At(100, {fractional(0.75, 0)}), 1000);
  TickResult r = agg.Next(At(101, {fractional(1.5, 0)}), 1000);
  EXPECT_EQ(r.stats[0].delta, 1u);  // floor(1.5) - floor(0.75)
  EXPECT_DOUBLE_EQ(r.stats[0].rate, 0.75);
  r = agg.Next(At(102, {fractional(0.25, 1.5)}), 1000);  // reset: 1.5 moved aside
  EXPECT_EQ(r.stats[0].delta, 0u);                       // floor(1.75) - floor(1.5)
  EXPECT_DOUBLE_EQ(r.stats[0].rate, 0.25);
  r = agg.Next(At(103, {fractional(0.5, 1.5)}), 1000);
  EXPECT_EQ(r.stats[0].delta, 1u);  // 2.0: the carried fractions make one
}

TEST(StatsJsonOrderTest, SeriesStaySortedWhenOneAppearsBetweenTicks) {
  Aggregator agg;
  StatsJsonOrder order;
  agg.Next(At(100, {CounterAt(0, "m_total", 1), CounterAt(1, "b_total", 1)}), 1000);
  TickResult r1 = agg.Next(At(101, {CounterAt(0, "m_total", 2), CounterAt(1, "b_total", 2)}), 1000);
  auto doc1 = nlohmann::json::parse(StatsJson(r1, "seg", order));
  std::vector<std::string> keys1;
  for (auto& [k, v] : doc1["counters"].items()) keys1.push_back(k);
  EXPECT_EQ(keys1, (std::vector<std::string>{"b_total", "m_total"}));

  TickResult r2 = agg.Next(
      At(102, {CounterAt(0, "m_total", 3), CounterAt(1, "b_total", 3), CounterAt(2, "a_total", 9)}),
      1000);
  const std::string text = StatsJson(r2, "seg", order);
  // Document order (not nlohmann's sorted map): a_total first.
  EXPECT_LT(text.find("\"a_total\""), text.find("\"b_total\""));
  EXPECT_LT(text.find("\"b_total\""), text.find("\"m_total\""));
  auto doc2 = nlohmann::json::parse(text);
  EXPECT_EQ(doc2["counters"]["a_total"]["delta"], 9);
  EXPECT_EQ(doc2["counters"]["m_total"]["delta"], 1);
  EXPECT_EQ(doc2["counters"]["m_total"]["value"], 3);
}

// The record holds what has an interval value: a counter's delta (not its total), a
// gauge's value, a histogram's interval buckets; a counter first seen as a baseline
// has none. Names move out of the snapshot, or are copied when asked.
TEST(TakeRecordTest, IntervalValuesAndNamesMovedOrCopied) {
  auto hist = [](uint32_t index, std::vector<uint64_t> counts, double sum) {
    MetricSnapshot m;
    m.name = "lat_seconds_with_a_long_name";
    m.labels = {{"route", "/a/long/route/name/beyond/the/small/string"}};
    m.type = MetricType::kHistogram;
    m.help = "latency";
    m.histogram.bounds = {1, 2};
    m.histogram.counts = std::move(counts);
    m.histogram.reset_counts = {0, 0, 0};
    m.histogram.sum = sum;
    m.index = index;
    return m;
  };
  MetricSnapshot g;
  g.name = "temp_celsius";
  g.type = MetricType::kGauge;
  g.gauge = 21.5;
  g.index = 2;
  for (bool copy : {false, true}) {
    Aggregator agg;
    agg.Next(At(100, {CounterAt(0, "a_total", 10), hist(1, {1, 0, 0}, 0.5), g}), 1000);
    TickResult r = agg.Next(At(101, {CounterAt(0, "a_total", 15), hist(1, {3, 1, 0}, 4), g,
                                     CounterAt(3, "late_total", 4)}),
                            1000);
    std::vector<uint32_t> indices;
    for (const auto& m : r.snapshot.metrics) indices.push_back(m.index);
    history::TickRecord rec = TakeRecord(r, copy);
    EXPECT_EQ(rec.unix_ms, 101'000);
    EXPECT_EQ(rec.interval_ms, 1000);
    ASSERT_EQ(rec.samples.size(), 4u);
    ASSERT_EQ(rec.identities.size(), 4u);
    EXPECT_EQ(rec.samples[0].name, "a_total");
    EXPECT_EQ(rec.samples[0].counter, 5u);
    EXPECT_EQ(rec.samples[1].name, "lat_seconds_with_a_long_name");
    EXPECT_EQ(rec.samples[1].labels, hist(1, {}, 0).labels);
    EXPECT_EQ(rec.samples[1].help, "latency");
    EXPECT_EQ(rec.samples[1].histogram.counts, (std::vector<uint64_t>{2, 1, 0}));
    EXPECT_EQ(rec.samples[1].histogram.sum, 3.5);
    EXPECT_EQ(rec.samples[2].gauge, 21.5);
    EXPECT_EQ(rec.samples[3].name, "late_total");  // new during the interval: from 0
    EXPECT_EQ(rec.samples[3].counter, 4u);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(rec.identities[i], r.stats[i].identity);
      EXPECT_EQ(rec.samples[i].index, indices[i]);
      EXPECT_EQ(rec.samples[i].counter_reset_total, 0u);  // deltas, not readings
    }
    // Copied: the snapshot keeps its metrics (remote-write sends it); moved: the
    // record took them.
    if (copy) {
      ASSERT_EQ(r.snapshot.metrics.size(), 4u);
      EXPECT_EQ(r.snapshot.metrics[1].name, "lat_seconds_with_a_long_name");
      EXPECT_EQ(r.snapshot.metrics[0].counter, 15u);
    } else {
      EXPECT_TRUE(r.snapshot.metrics.empty());
    }
  }
  // The baseline tick has no delta for counters and histograms: only the gauge.
  Aggregator agg;
  TickResult first = agg.Next(At(100, {CounterAt(0, "a_total", 10), g}), 1000);
  history::TickRecord rec = TakeRecord(first);
  ASSERT_EQ(rec.samples.size(), 1u);  // the gauge moved down over the baseline counter
  EXPECT_EQ(rec.samples[0].name, "temp_celsius");
  EXPECT_EQ(rec.samples[0].gauge, 21.5);
  EXPECT_TRUE(rec.samples[0].histogram.counts.empty());
}

// A deleted series simply stops (nothing recorded for it); registered again it is a
// new life from zero, even when it comes back before the next tick at the same index.
TEST(AggregatorTest, ADeletedAndRevivedSeriesCountsItsNewLifeFromZero) {
  auto revived = [](uint64_t value, uint32_t generation) {
    MetricSnapshot m = CounterAt(0, "a_total", value);
    m.generation = generation;
    return m;
  };
  Aggregator agg;
  agg.Next(At(100, {revived(50, 0), CounterAt(1, "b_total", 1)}), 1000);
  TickResult r = agg.Next(At(101, {CounterAt(1, "b_total", 2)}), 1000);  // a_total deleted
  ASSERT_EQ(r.stats.size(), 1u);
  EXPECT_EQ(TakeRecord(r).samples.size(), 1u);
  r = agg.Next(At(102, {revived(3, 1), CounterAt(1, "b_total", 3)}), 1000);
  EXPECT_EQ(r.stats[0].delta, 3u);
  r = agg.Next(At(103, {revived(2, 2), CounterAt(1, "b_total", 4)}), 1000);  // within a tick
  EXPECT_EQ(r.stats[0].delta, 2u);  // not 2 - 3 (a wrap)
  EXPECT_NE(SeriesIdentity(revived(0, 1)), SeriesIdentity(revived(0, 2)));
}

}  // namespace
}  // namespace shmstats::daemon
