// SPDX-License-Identifier: Apache-2.0
// Deleted series end to end with the real shmstatsd and statsctl: series deleted with
// `statsctl delete` while a producer thread records into a survivor leave every
// reader at once (statsctl list, /metrics) while the SQLite history keeps their exact
// past up to the deletion; the survivor's total is exact; a deleted series registered
// again starts from zero in the segment (what a stale handle recorded meanwhile is
// dropped) and the history counts its new life from zero beside its old one. Every
// wait is on the daemon's tick count (/metrics), never a fixed sleep.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "daemon_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats::testing {
namespace {

uint64_t NowUnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// The counter value of name{k=`k`} as a reader shows it, or -1 when it is not shown.
double Shown(const Segment& s, const std::string& name, const std::string& k) {
  for (const MetricSnapshot& m : s.Read().metrics)
    if (m.name == name && m.labels == Labels{{"k", k}}) return static_cast<double>(m.counter);
  return -1;
}

// Sums of the export's per-interval counter increases (and histogram counts) for one
// series, split at `split_ms`: [0] before it, [1] after it.
struct Lives {
  uint64_t before = 0, after = 0;
  double sum_before = 0;
};
Lives SumExport(const nlohmann::json& exported, const std::string& name, const std::string& k,
                uint64_t split_ms) {
  Lives l;
  for (const auto& s : exported["samples"]) {
    if (s["name"] != name) continue;
    if (!k.empty() && s["labels"].value("k", "") != k) continue;
    const bool before = s["timestamp"].get<double>() * 1000 < static_cast<double>(split_ms);
    const uint64_t n =
        s["type"] == "histogram" ? s["count"].get<uint64_t>() : s["value"].get<uint64_t>();
    (before ? l.before : l.after) += n;
    if (before && s["type"] == "histogram") l.sum_before += s["sum"].get<double>();
  }
  return l;
}

TEST(DeleteHistoryTest, DeletedSeriesKeepTheirPastAndARevivedOneCountsItsNewLife) {
  ScopedSegmentName seg(UniqueName("delhist"));
  TempDir dir;
  Segment segment = Segment::Create(seg.str(), Small());
  Counter keep = segment.RegisterCounter({"keep_total", {{"k", "a"}}, "", ""});
  Counter x = segment.RegisterCounter({"doomed_total", {{"k", "x"}}, "", ""});
  Counter y = segment.RegisterCounter({"doomed_total", {{"k", "y"}}, "", ""});
  Histogram h =
      segment.RegisterHistogram({"doomed_seconds", {{"k", "h"}}, "", ""}, ExplicitBuckets{{1}});
  const std::string sc = std::string(STATSCTL_PATH) + " --segment " + seg.str();

  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(1));  // the baseline is taken: what follows is history
  x.Inc(7);
  y.Inc(11);
  h.Observe(0.5);
  h.Observe(2);
  keep.Inc(5);
  // Two ticks: the second one began after the increments, so the history holds them.
  ASSERT_TRUE(d.AwaitTicks(2));
  ASSERT_NE(Get(d.port(), "/metrics").body.find("doomed_total{k=\"y\"} 11"), std::string::npos);

  // Deleted while a producer thread records into the survivor (bounded in count).
  constexpr uint64_t kRecords = 200'000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kRecords; ++i) keep.Inc();
  });
  const uint64_t deleted_at = NowUnixMs();
  auto del = Shell(sc + " --json delete 'doomed_*'");
  producer.join();
  ASSERT_EQ(del.status, 0) << del.out;
  auto dj = nlohmann::json::parse(del.out);
  ASSERT_EQ(dj["metrics"].size(), 3u) << del.out;

  // Every reader stops showing them at once: statsctl, the library, /metrics.
  auto list = Shell(sc + " --json list");
  ASSERT_EQ(list.status, 0);
  EXPECT_EQ(list.out.find("doomed_"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("keep_total"), std::string::npos) << list.out;
  EXPECT_EQ(Shown(segment, "doomed_total", "x"), -1);
  EXPECT_EQ(Shell(sc + " delete 'doomed_*'").status, 1);  // nothing left to delete
  ASSERT_TRUE(d.AwaitTicks(1));
  EXPECT_EQ(Get(d.port(), "/metrics").body.find("doomed_"), std::string::npos);

  // A stale handle records into nothing shown; the key registered again comes back
  // from zero (what the stale handle recorded is zeroed), and both handles record into it.
  x.Inc(100);
  ASSERT_TRUE(d.AwaitTicks(1));
  EXPECT_EQ(Get(d.port(), "/metrics").body.find("doomed_"), std::string::npos);
  Counter x2 = segment.RegisterCounter({"doomed_total", {{"k", "x"}}, "", ""});
  EXPECT_EQ(Shown(segment, "doomed_total", "x"), 0);
  x2.Inc(3);
  x.Inc(4);
  EXPECT_EQ(Shown(segment, "doomed_total", "x"), 7);
  EXPECT_EQ(Shown(segment, "doomed_total", "y"), -1);  // only the registered key came back
  ASSERT_TRUE(d.AwaitTicks(2));
  EXPECT_NE(Get(d.port(), "/metrics").body.find("doomed_total{k=\"x\"} 7"), std::string::npos);
  EXPECT_EQ(segment.Info().deleted_total, 3u);
  EXPECT_EQ(segment.Info().revived_total, 1u);
  ASSERT_EQ(d.child().Stop(SIGTERM), 0) << d.child().Log();

  // The history: the deleted series' exact past, nothing after the deletion; the
  // revived one's two lives; the survivor's exact total.
  const std::string hist =
      std::string(STATSCTL_PATH) + " --json history --db " + (dir / "history.db");
  auto e = Shell(hist + " export --from=-1h");
  ASSERT_EQ(e.status, 0) << e.out;
  auto exported = nlohmann::json::parse(e.out);
  Lives ly = SumExport(exported, "doomed_total", "y", deleted_at);
  EXPECT_EQ(ly.before, 11u);
  EXPECT_EQ(ly.after, 0u);
  Lives lh = SumExport(exported, "doomed_seconds", "h", deleted_at);
  EXPECT_EQ(lh.before, 2u);
  EXPECT_DOUBLE_EQ(lh.sum_before, 2.5);
  EXPECT_EQ(lh.after, 0u);
  Lives lx = SumExport(exported, "doomed_total", "x", deleted_at);
  EXPECT_EQ(lx.before, 7u);  // the old life
  EXPECT_EQ(lx.after, 7u);   // the new life from zero: not the stale 100, not 7 - 7
  Lives lk = SumExport(exported, "keep_total", "a", deleted_at);
  EXPECT_EQ(lk.before + lk.after, 5 + kRecords);

  // The query API agrees: the deleted series is found by its key with its past.
  auto q = Shell(hist + " 'doomed_total{k=\"y\"}' --from=-1h --step 1d");
  ASSERT_EQ(q.status, 0) << q.out;
  const auto qj = nlohmann::json::parse(q.out);
  uint64_t inc = 0;
  for (const auto& s : qj["series"])
    for (const auto& p : s["points"]) inc += p.value("increase", uint64_t{0});
  EXPECT_EQ(inc, 11u) << q.out;
}

}  // namespace
}  // namespace shmstats::testing
