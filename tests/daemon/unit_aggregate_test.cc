// The Aggregator matches each series with its previous snapshot by descriptor index
// and identity, and stats.json keeps its series order between ticks: what a reused
// descriptor, a vanished series and a new one do to both.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aggregate.h"
#include "stats_json.h"

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

}  // namespace
}  // namespace shmstats::daemon
