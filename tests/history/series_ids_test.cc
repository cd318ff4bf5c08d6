// SPDX-License-Identifier: Apache-2.0
// A store writer finds a sample's series by descriptor index and identity first,
// by key on a miss (history/series_ids.h): what a known series, a reused
// descriptor, a sample without identity and a failed insert do; and, through the
// daemon's Aggregator and the SQLite writer, that a descriptor reused by another
// series between ticks writes to that other series.

#include "history/series_ids.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "common/selector.h"
#include "daemon/aggregate.h"
#include "daemon_harness.h"
#include "history/query.h"
#include "history/sqlite/writer.h"
#include "history_samples.h"

namespace shmstats::history {
namespace {

using shmstats::testing::TempDir;
using namespace shmstats::history::test;

MetricSnapshot At(uint32_t index, MetricSnapshot m) {
  m.index = index;
  return m;
}

struct Inserts {
  int64_t next = 100;
  std::vector<std::string> names;
  SeriesIds::Insert fn() {
    return [this](const MetricSnapshot& m) {
      names.push_back(m.name);
      return next++;
    };
  }
};

TEST(SeriesIdsTest, IndexAndIdentityFindASeriesWithoutItsKey) {
  SeriesIds ids;
  Inserts ins;
  EXPECT_EQ(ids.Find(At(3, Counter("a_total", 1)), 77, ins.fn()), 100);
  // Same descriptor and identity: found by index. (The name differs only to show
  // that no key was looked at: a real sample with this identity has the same name.)
  EXPECT_EQ(ids.Find(At(3, Counter("other_total", 1)), 77, ins.fn()), 100);
  EXPECT_EQ(ins.names, std::vector<std::string>{"a_total"});
}

TEST(SeriesIdsTest, AReusedDescriptorIsLookedUpByKey) {
  SeriesIds ids;
  Inserts ins;
  EXPECT_EQ(ids.Find(At(3, Counter("a_total", 1)), 77, ins.fn()), 100);
  EXPECT_EQ(ids.Find(At(3, Counter("b_total", 1)), 88, ins.fn()), 101);  // new series
  EXPECT_EQ(ids.Find(At(5, Counter("a_total", 1)), 77, ins.fn()), 100);  // moved: by key
  EXPECT_EQ(ids.Find(At(3, Counter("a_total", 1)), 77, ins.fn()), 100);  // back: by key
  EXPECT_EQ(ins.names, (std::vector<std::string>{"a_total", "b_total"}));
}

TEST(SeriesIdsTest, NoIdentityMeansByKeyAlways) {
  SeriesIds ids;
  Inserts ins;
  ids.Add(SeriesKey(Counter("known_total", 0)), 7);  // a catalogue entry
  EXPECT_EQ(ids.Find(At(0, Counter("known_total", 1)), 0, ins.fn()), 7);
  EXPECT_EQ(ids.Find(At(0, Counter("new_total", 1)), 0, ins.fn()), 100);
  EXPECT_EQ(ids.Find(At(0, Counter("known_total", 1)), 0, ins.fn()), 7);  // not cached by index
  EXPECT_EQ(ins.names, std::vector<std::string>{"new_total"});
}

TEST(SeriesIdsTest, AFailedInsertLeavesNothingBehind) {
  SeriesIds ids;
  Inserts ins;
  SeriesIds::Insert failing = [](const MetricSnapshot&) -> int64_t {
    throw std::runtime_error("disk full");
  };
  EXPECT_THROW(ids.Find(At(1, Counter("a_total", 1)), 5, failing), std::runtime_error);
  EXPECT_EQ(ids.Find(At(1, Counter("a_total", 1)), 5, ins.fn()), 100);  // inserted now
  ids.Clear();
  EXPECT_EQ(ids.Find(At(1, Counter("a_total", 1)), 5, ins.fn()), 101);  // forgotten
}

// Descriptor 0 holds a_total for two ticks, then b_total (a_total retired and its
// descriptor reused): each series' history has exactly its own increments.
TEST(SeriesIdsTest, ReusedDescriptorThroughAggregatorAndWriter) {
  TempDir dir;
  const std::string db = dir / "h.db";
  constexpr int64_t kT0 = 1'790'000'040'000;
  daemon::Aggregator agg;
  SqliteWriter w(db);
  auto tick = [&](int64_t s, std::vector<MetricSnapshot> metrics) {
    Snapshot snap;
    snap.taken_unix_ns = static_cast<uint64_t>(kT0 + s * 1000) * 1'000'000;
    snap.instance_id = 1;
    snap.metrics = std::move(metrics);
    auto r = agg.Next(std::move(snap), 1000);
    auto record = daemon::TakeRecord(r);
    EXPECT_EQ(record.identities.size(), record.samples.size());
    w.Write(record, {});
  };
  tick(0, {At(0, Counter("a_total", 10)), At(1, Counter("c_total", 1))});  // baseline
  tick(1, {At(0, Counter("a_total", 13)), At(1, Counter("c_total", 2))});
  tick(2, {At(0, Counter("a_total", 20)), At(1, Counter("c_total", 3))});
  tick(3, {At(0, Counter("b_total", 4)), At(1, Counter("c_total", 4))});  // reused
  tick(4, {At(0, Counter("b_total", 9)), At(1, Counter("c_total", 5))});
  HistoryReader reader(db);
  auto total = [&](const std::string& name) {
    auto r = reader.Query(common::Selector::Parse(name), {kT0 - 60'000, kT0 + 60'000, 86'400'000});
    EXPECT_EQ(r.size(), 1u) << name;
    uint64_t inc = 0;
    for (const auto& p : r.empty() ? decltype(r[0].points){} : r[0].points) inc += p.acc.increase;
    return inc;
  };
  EXPECT_EQ(total("a_total"), 10u);  // 13 - 10, 20 - 13
  EXPECT_EQ(total("b_total"), 9u);   // new at tick 3 (counts from 0), then +5
  EXPECT_EQ(total("c_total"), 4u);
}

}  // namespace
}  // namespace shmstats::history
