// SPDX-License-Identifier: Apache-2.0
// The real shmstatsd, started on a free loopback port with a 1 s interval and its
// own state directory, fed by real producer processes (this test process, or the
// example producer), checked over HTTP, in stats.json and in its database.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/selector.h"
#include "daemon_harness.h"
#include "history/query.h"
#include "history/sqlite/db.h"
#include "history/time.h"

namespace shmstats::testing {
namespace {

std::string PromtoolCheck(const std::string& text, const TempDir& dir) {
  std::ofstream(dir / "metrics.txt") << text;
  std::string cmd = std::string(PROMTOOL_PATH) + " check metrics <" + (dir / "metrics.txt") + " >" +
                    (dir / "promtool.log") + " 2>&1";
  int rc = std::system(cmd.c_str());
  return rc == 0 ? "" : "promtool failed: " + ReadFile(dir / "promtool.log");
}

// Empty when the document validates against docs/history.schema.json.
std::string HistorySchemaProblems(const std::string& document) {
  TempDir dir;
  std::ofstream(dir / "history.json") << document;
  std::string cmd = "python3 " SOURCE_DIR "/tests/statsctl/validate_json.py " SOURCE_DIR
                    "/docs/history.schema.json " +
                    (dir / "history.json") + " >" + (dir / "log") + " 2>&1";
  return std::system(cmd.c_str()) == 0 ? "" : ReadFile(dir / "log");
}

nlohmann::json History(int port, const std::string& query) {
  auto r = Get(port, "/stats/history?" + query);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HistorySchemaProblems(r.body), "");
  return nlohmann::json::parse(r.body, nullptr, false);
}

uint64_t TotalIncrease(const nlohmann::json& series) {
  uint64_t total = 0;
  for (const auto& p : series["points"]) total += p["increase"].get<uint64_t>();
  return total;
}

TEST(DaemonTest, MetricsPassPromtoolAndNegotiateOpenMetrics) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  Child producer({PRODUCER_PATH, "--segment", seg.str(), "--seconds", "2"}, dir / "producer.log");
  ASSERT_EQ(producer.Wait(), 0) << producer.Log();
  auto text = Get(d.port(), "/metrics");
  ASSERT_EQ(text.status, 200);
  EXPECT_EQ(text.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(text.body.find("tool_calls_total{tool=\"file_read\"}"), std::string::npos);
  EXPECT_NE(text.body.find("shmstatsd_resident_memory_bytes"), std::string::npos);
  EXPECT_EQ(PromtoolCheck(text.body, dir), "");
  auto om = Get(d.port(), "/metrics", {{"Accept", "application/openmetrics-text; version=1.0.0"}});
  ASSERT_EQ(om.status, 200);
  EXPECT_NE(om.content_type.find("application/openmetrics-text"), std::string::npos);
  EXPECT_TRUE(om.body.ends_with("# EOF\n"));
  // Negotiation follows the qualities (what Prometheus sends, a refusal with q=0,
  // a preference for text/plain) and ignores the case of media types.
  auto wants_om = [&](const std::string& accept) {
    auto r = Get(d.port(), "/metrics", {{"Accept", accept}});
    EXPECT_EQ(r.status, 200) << accept;
    return r.content_type.starts_with("application/openmetrics-text");
  };
  EXPECT_TRUE(
      wants_om("application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
               "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"));
  EXPECT_TRUE(wants_om("Application/OpenMetrics-Text"));
  EXPECT_FALSE(wants_om("text/plain;q=1, application/openmetrics-text;q=0"));
  EXPECT_FALSE(wants_om("application/openmetrics-text;q=0.2, text/plain;q=0.9"));
  EXPECT_FALSE(wants_om("*/*"));
  EXPECT_FALSE(wants_om("text/*;q=1, application/openmetrics-text;q=0.5"));
  EXPECT_FALSE(wants_om("application/openmetrics-text;q=0.5x"));  // not a quality: 0
  // gzip when asked (zlib's fastest level), never Brotli: it cost seconds of CPU for
  // a large segment.
  auto gz = Get(d.port(), "/metrics", {{"Accept-Encoding", "br, gzip"}});
  EXPECT_EQ(gz.content_encoding, "gzip");
  EXPECT_EQ(gz.body.rfind("\x1f\x8b", 0), 0u);  // the gzip magic
  auto br = Get(d.port(), "/metrics", {{"Accept-Encoding", "br"}});
  EXPECT_EQ(br.content_encoding, "");
  EXPECT_EQ(br.body.rfind("# HELP ", 0), 0u) << br.body.substr(0, 40);
  EXPECT_EQ(d.child().Stop(SIGTERM), 0) << d.child().Log();
}

// Known values in the segment; after a tick, /stats and stats.json hold them.
TEST(DaemonTest, StatsAndStatsJsonAgreeWithTheSegment) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  auto big = s.RegisterCounter({"big_total", {{"k", "v"}}, "", ""});
  auto g = s.RegisterGauge({"temp", {}, "", ""});
  auto h = s.RegisterHistogram({"lat_seconds", {}, "", "seconds"}, ExplicitBuckets{{1, 2, 4, 8}});
  big.Inc((1ull << 60) + 1);  // above 2^53: must stay exact
  g.Set(-2.25);
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(1));
  for (int i = 0; i < 10; ++i) h.Observe(3);
  ASSERT_TRUE(d.AwaitTicks(2));
  auto reply = Get(d.port(), "/stats");
  ASSERT_EQ(reply.status, 200);
  auto stats = nlohmann::json::parse(reply.body);
  auto file = nlohmann::json::parse(ReadFile(dir / "stats.json"));
  EXPECT_EQ(stats["version"], 1);
  EXPECT_EQ(file["version"], 1);
  for (const auto& doc : {stats, file}) {
    EXPECT_EQ(doc["counters"]["big_total{k=\"v\"}"]["value"].get<uint64_t>(), (1ull << 60) + 1);
    EXPECT_EQ(doc["counters"]["big_total{k=\"v\"}"]["labels"]["k"], "v");
    EXPECT_EQ(doc["gauges"]["temp"]["value"].get<double>(), -2.25);
    EXPECT_EQ(doc["histograms"]["lat_seconds"]["total_count"].get<uint64_t>(), 10u);
  }
  EXPECT_NE(reply.body.find("\"value\":1152921504606846977"), std::string::npos);
  EXPECT_EQ(d.child().Stop(SIGTERM), 0);
}

// GET /stats reads the stats.json file back (the daemon keeps no copy). Without
// the file (--stats-json none) the daemon keeps the document and serves it; a file
// that cannot be written (its directory is gone) falls back to that copy too.
TEST(DaemonTest, StatsServedFromTheFileOrFromMemoryWithoutOne) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"served_total", {}, "", ""});
  c.Inc(7);
  {
    Daemon d(seg.str(), dir, {"--stats-json", "none"});
    ASSERT_TRUE(d.ready()) << d.child().Log();
    ASSERT_TRUE(d.AwaitTicks(1));
    auto reply = Get(d.port(), "/stats");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(nlohmann::json::parse(reply.body)["counters"]["served_total"]["value"], 7);
    EXPECT_FALSE(std::filesystem::exists(dir / "stats.json"));
    EXPECT_EQ(d.child().Stop(SIGTERM), 0);
  }
  TempDir elsewhere;
  const std::string file = elsewhere / "sub/stats.json";
  std::filesystem::create_directory(elsewhere / "sub");
  Daemon d(seg.str(), dir, {"--stats-json", file});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(1));
  c.Inc(1);
  ASSERT_TRUE(d.AwaitTicks(2));
  auto from_file = Get(d.port(), "/stats");
  ASSERT_EQ(from_file.status, 200);
  EXPECT_EQ(from_file.body, ReadFile(file));  // the file, byte for byte
  EXPECT_EQ(nlohmann::json::parse(from_file.body)["counters"]["served_total"]["value"], 8);
  std::filesystem::remove_all(elsewhere / "sub");  // the next ticks cannot write it
  c.Inc(2);
  ASSERT_TRUE(d.AwaitTicks(2));
  auto kept = Get(d.port(), "/stats");
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(nlohmann::json::parse(kept.body)["counters"]["served_total"]["value"], 10);
  EXPECT_NE(d.child().Log().find("cannot create " + file + ".tmp."), std::string::npos)
      << d.child().Log();
  EXPECT_EQ(d.child().Stop(SIGTERM), 0);
}

// Increments of 10 and 5, a reset, then 3: the history holds an increase of 18
// (a counter that went down counts from zero), rates are increase/covered time,
// and histogram quantiles come from buckets merged across the step.
TEST(DaemonTest, HistoryHasRatesAndQuantilesIncludingACounterReset) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"jobs_total", {}, "", ""});
  auto h = s.RegisterHistogram({"lat_seconds", {}, "", ""}, ExplicitBuckets{{1, 2, 4, 8}});
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(1));
  c.Inc(10);
  for (int i = 0; i < 100; ++i) h.Observe(0.5);
  ASSERT_TRUE(d.AwaitTicks(1));
  c.Inc(5);
  for (int i = 0; i < 100; ++i) h.Observe(3);
  ASSERT_TRUE(d.AwaitTicks(1));
  auto reset = s.Reset([](const MetricSnapshot& m) { return m.name == "jobs_total"; });
  ASSERT_EQ(reset.size(), 1u);
  c.Inc(3);
  ASSERT_TRUE(d.AwaitTicks(2));

  auto j = History(d.port(), "metric=jobs_total&from=-10m&to=now&step=1d");
  ASSERT_EQ(j["series"].size(), 1u) << j.dump();
  EXPECT_EQ(TotalIncrease(j["series"][0]), 18u) << j.dump();

  history::HistoryReader reader(dir / "history.db");
  int64_t now = history::NowMs();
  auto r = reader.Query(common::Selector::Parse("jobs_total"), {now - 600'000, now, 86'400'000});
  ASSERT_EQ(r.size(), 1u);
  uint64_t inc = 0;
  for (const auto& p : r[0].points) {
    inc += p.acc.increase;
    EXPECT_DOUBLE_EQ(history::PointRate(p.acc), p.acc.increase * 1000.0 / p.acc.covered_ms);
  }
  EXPECT_EQ(inc, 18u);

  auto hj = History(d.port(), "metric=lat_seconds&from=-10m&step=1d");
  ASSERT_EQ(hj["series"].size(), 1u);
  const auto& points = hj["series"][0]["points"];
  ASSERT_GE(points.size(), 1u);
  const auto& last = points[points.size() - 1];
  if (points.size() == 1) {  // (a UTC day boundary could split the step)
    EXPECT_EQ(last["count"].get<uint64_t>(), 200u);
    EXPECT_DOUBLE_EQ(last["p50"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(last["p90"].get<double>(), 3.6);
  }
  auto csv = Get(d.port(), "/stats/history?metric=jobs_total&from=-10m&step=1m&format=csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_TRUE(csv.body.starts_with("time,name,labels,type,increase,rate,")) << csv.body;
  EXPECT_EQ(d.child().Stop(SIGTERM), 0);
}

// The history's increase is exact across resets and a wrap at 2^64: the counter
// starts 50 short of 2^64 (before the daemon's baseline), then gets increments
// with resets in between, some within one tick (what was added between the last
// tick and a reset must not be lost), one wrapping past 2^64. A histogram's count
// is checked the same way.
TEST(DaemonTest, HistoryIncreaseIsExactAcrossResetsAndAWrap) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"wrap_total", {}, "", ""});
  auto h = s.RegisterHistogram({"wrap_seconds", {}, "", ""}, ExplicitBuckets{{1, 2}});
  c.Inc(~uint64_t{0} - 49);  // 2^64 - 50
  auto reset = [&] {
    return s.Reset([](const MetricSnapshot& m) { return m.name.starts_with("wrap_"); }).size();
  };
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(1));
  uint64_t truth = 0, observed = 0;
  auto add = [&](uint64_t n) {
    c.Inc(n);
    truth += n;
    for (uint64_t i = 0; i < n % 7; ++i, ++observed) h.Observe(1.5);
  };
  add(30);
  ASSERT_EQ(reset(), 2u);  // within the tick of the 30
  add(40);                 // wraps past 2^64
  ASSERT_TRUE(d.AwaitTicks(1));
  add(11);
  ASSERT_TRUE(d.AwaitTicks(1));
  add(5);
  ASSERT_EQ(reset(), 2u);
  ASSERT_EQ(reset(), 2u);  // twice in a row takes nothing more
  add(7);
  ASSERT_TRUE(d.AwaitTicks(2));

  auto j = History(d.port(), "metric=wrap_total&from=-10m&to=now&step=1d");
  ASSERT_EQ(j["series"].size(), 1u) << j.dump();
  EXPECT_EQ(TotalIncrease(j["series"][0]), truth) << j.dump();
  auto hj = History(d.port(), "metric=wrap_seconds&from=-10m&step=1d");
  ASSERT_EQ(hj["series"].size(), 1u) << hj.dump();
  uint64_t count = 0;
  for (const auto& p : hj["series"][0]["points"]) count += p["count"].get<uint64_t>();
  EXPECT_EQ(count, observed) << hj.dump();
  // Readers still see the resets.
  Snapshot snap = s.Read();
  for (const MetricSnapshot& m : snap.metrics) {
    if (m.name == "wrap_total") {
      EXPECT_EQ(m.counter, 7u);
    }
  }
  EXPECT_EQ(d.child().Stop(SIGTERM), 0);
}

TEST(DaemonTest, BadHistoryParametersGet400) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  s.RegisterGauge({"up", {}, "", ""}).Set(1);
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(2));
  for (const char* q : {
           "metric=up&step=2m",
           "metric=up&step=1m%3BDROP%20TABLE%20ticks",
           "metric=up&from=yesterday",
           "metric=up&from=2026-13-45T00:00:00Z",
           "metric=up&to=now%27%20OR%201%3D1",
           "metric=up%27%3B%20DROP%20TABLE%20series%3B--",
           "metric=up%22%20OR%20%221%22%3D%221",
           "metric=%7B",
           "metric=up&format=xml",
           "metric=up&from=now&to=-1h",
           "metric=up&from=-30d&step=1m",
       }) {
    auto r = Get(d.port(), std::string("/stats/history?") + q);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_FALSE(r.body.empty());
  }
  auto ok = History(d.port(), "metric=up&from=-5m&step=1m");
  EXPECT_EQ(ok["series"].size(), 1u);  // the tables are all still there
  EXPECT_EQ(d.child().Stop(SIGTERM), 0);
}

TEST(DaemonTest, HistorySurvivesARestart) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"n_total", {}, "", ""});
  {
    Daemon d(seg.str(), dir);
    ASSERT_TRUE(d.ready()) << d.child().Log();
    ASSERT_TRUE(d.AwaitTicks(1));
    c.Inc(7);
    ASSERT_TRUE(d.AwaitTicks(1));
    ASSERT_EQ(d.child().Stop(SIGTERM), 0) << d.child().Log();
  }
  Daemon again(seg.str(), dir);
  ASSERT_TRUE(again.ready()) << again.child().Log();
  ASSERT_TRUE(again.AwaitTicks(1));
  c.Inc(4);
  ASSERT_TRUE(again.AwaitTicks(1));
  auto j = History(again.port(), "metric=n_total&from=-10m&step=1d");
  ASSERT_EQ(j["series"].size(), 1u);
  EXPECT_EQ(TotalIncrease(j["series"][0]), 11u) << j.dump();
  EXPECT_EQ(again.child().Stop(SIGTERM), 0);
}

TEST(DaemonTest, SecondDaemonOnTheSameDatabaseIsRefused) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  Daemon first(seg.str(), dir);
  ASSERT_TRUE(first.ready()) << first.child().Log();
  Child second({SHMSTATSD_PATH, "--segment", seg.str(), "--state-dir", dir.str(), "--listen",
                "127.0.0.1:0", "--interval", "1s"},
               dir / "second.log");
  EXPECT_EQ(second.Wait(), 1);
  EXPECT_NE(second.Log().find("another shmstatsd (pid " + std::to_string(first.child().pid())),
            std::string::npos)
      << second.Log();
  // Another database, the same address: refused too, not sharing the port.
  TempDir other;
  Child third({SHMSTATSD_PATH, "--segment", seg.str(), "--state-dir", other.str(), "--listen",
               "127.0.0.1:" + std::to_string(first.port()), "--interval", "1s"},
              other / "third.log");
  EXPECT_EQ(third.Wait(), 1) << third.Log();
  EXPECT_NE(third.Log().find("cannot listen on"), std::string::npos) << third.Log();
  EXPECT_EQ(first.child().Stop(SIGTERM), 0);
}

// SIGKILL while ticks are being written: the database opens, passes integrity_check
// and holds at least every tick the daemon had reported as written.
TEST(DaemonTest, SigkillDuringWritesLeavesAConsistentDatabase) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  for (int i = 0; i < 200; ++i) {
    s.RegisterCounter({"c_total", {{"i", std::to_string(i)}}, "", ""}).Inc(i);
  }
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> argv = {SHMSTATSD_PATH, "--segment",  seg.str(), "--state-dir",
                                     dir.str(),      "--interval", "100ms"};
    for (auto& a : ListenAnyPort(dir / "ports")) argv.push_back(a);
    Child d(argv, dir / "shmstatsd.log");
    int port = AwaitPort(dir / "ports");
    ASSERT_NE(port, 0) << d.Log();
    double ticks = -1;
    ASSERT_TRUE(WaitFor([&] {
      ticks = Scalar(Get(port, "/metrics").body, "shmstatsd_ticks_total");
      return ticks >= 3 + round;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(37 * round));
    d.Stop(SIGKILL);
    history::Db db(dir / "history.db", history::Db::Mode::kReadWrite);
    auto check = db.Prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check.Step());
    EXPECT_EQ(check.Text(0), "ok");
    auto count = db.Prepare("SELECT count(*) FROM ticks");
    ASSERT_TRUE(count.Step());
    EXPECT_GE(count.Int(0), static_cast<int64_t>(ticks));
  }
}

// A history directory that cannot be used: the daemon logs, keeps serving /metrics
// and keeps its ticks; once the directory is usable they are written.
TEST(DaemonTest, UnwritableHistoryIsRetriedWhileMetricsServe) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"n_total", {}, "", ""});
  std::ofstream(dir / "blocked") << "a file where the history directory should be";
  Daemon d(seg.str(), dir, {"--history-db", dir / "blocked/history.db"});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(2));
  c.Inc(5);
  ASSERT_TRUE(d.AwaitTicks(1));
  auto metrics = Get(d.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("n_total 5"), std::string::npos);
  EXPECT_NE(metrics.body.find("shmstatsd_errors_total{kind=\"history\"}"), std::string::npos);
  EXPECT_EQ(Get(d.port(), "/healthz").status, 503);
  EXPECT_GT(Scalar(metrics.body, "shmstatsd_history_pending_ticks"), 0);
  std::filesystem::remove(dir / "blocked");
  std::filesystem::create_directory(dir / "blocked");
  ASSERT_TRUE(WaitFor([&] { return Get(d.port(), "/healthz").status == 200; }));
  ASSERT_TRUE(d.AwaitTicks(1));
  EXPECT_NE(d.child().Log().find("history"), std::string::npos);
  history::HistoryReader reader(dir / "blocked/history.db");
  int64_t now = history::NowMs();
  auto r = reader.Query(common::Selector::Parse("n_total"), {now - 600'000, now, 86'400'000});
  ASSERT_EQ(r.size(), 1u);
  uint64_t inc = 0;
  for (const auto& p : r[0].points) inc += p.acc.increase;
  EXPECT_EQ(inc, 5u);  // written from the ticks kept while the directory was blocked
  EXPECT_EQ(d.child().Stop(SIGTERM), 0);
}

// Started before the segment exists: waits; then a segment that is removed and
// re-created is re-attached, and its new values are served.
TEST(DaemonTest, WaitsForAMissingSegmentAndReattachesARecreatedOne) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(0));
  auto health = nlohmann::json::parse(Get(d.port(), "/healthz").body);
  EXPECT_EQ(health["segment"], "waiting");
  EXPECT_EQ(health["status"], "degraded");
  EXPECT_EQ(Get(d.port(), "/healthz").status, 503);                // not collecting: not ok
  EXPECT_EQ(health["last_tick_unix_ms"], 0) << health.dump();      // no tick without a segment
  EXPECT_FALSE(health.contains("remote_write")) << health.dump();  // not configured
  EXPECT_EQ(Get(d.port(), "/stats").status, 503);
  const int64_t before = history::NowMs();
  {
    auto s = Segment::Create(seg.str(), Small());
    s.RegisterGauge({"first_gen", {}, "", ""}).Set(1);
    // Created while the daemon watched: counted from zero, not taken as a baseline.
    s.RegisterCounter({"born_total", {}, "", ""}).Inc(4);
    ASSERT_TRUE(WaitFor(
        [&] { return Get(d.port(), "/metrics").body.find("first_gen 1") != std::string::npos; }));
    ASSERT_TRUE(WaitFor([&] {
      auto h = History(d.port(), "metric=born_total&from=-10m&step=1d");
      return !h["series"].empty() && TotalIncrease(h["series"][0]) == 4;
    })) << d.child().Log();
    health = nlohmann::json::parse(Get(d.port(), "/healthz").body);
    EXPECT_GE(health["last_tick_unix_ms"].get<int64_t>(), before) << health.dump();
    EXPECT_LE(health["last_tick_unix_ms"].get<int64_t>(), history::NowMs()) << health.dump();
  }
  Segment::Remove(seg.str());
  auto s2 = Segment::Create(seg.str(), Small());
  s2.RegisterGauge({"second_gen", {}, "", ""}).Set(2);
  ASSERT_TRUE(WaitFor(
      [&] { return Get(d.port(), "/metrics").body.find("second_gen 2") != std::string::npos; }));
  ASSERT_TRUE(WaitFor(
      [&] { return Get(d.port(), "/stats").body.find("second_gen") != std::string::npos; }));
  EXPECT_EQ(d.child().Stop(SIGTERM), 0);
  EXPECT_NE(d.child().Log().find("waiting for it"), std::string::npos);
}

TEST(DaemonTest, ResetOverHttpNeedsTheFlagAndTheToken) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"r_total", {}, "", ""});
  c.Inc(9);
  {
    Daemon off(seg.str(), dir);
    ASSERT_TRUE(off.ready());
    EXPECT_EQ(Post(off.port(), "/reset?metric=r_total").status, 403);
    off.child().Stop(SIGTERM);
  }
  std::ofstream(dir / "token") << "0123456789abcdef-secret\n";
  Daemon on(seg.str(), dir, {"--enable-reset", "--reset-token-file", dir / "token"});
  ASSERT_TRUE(on.ready()) << on.child().Log();
  EXPECT_EQ(Post(on.port(), "/reset?metric=r_total").status, 401);
  EXPECT_EQ(Post(on.port(), "/reset?metric=r_total", {{"Authorization", "Bearer wrong"}}).status,
            401);
  auto ok = Post(on.port(), "/reset?metric=r_total",
                 {{"Authorization", "Bearer 0123456789abcdef-secret"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(s.Read().metrics.at(0).counter, 0u);
  EXPECT_EQ(on.child().Stop(SIGTERM), 0);
}

// Options from a config file (textfile collector on), and SIGTERM's final tick.
TEST(DaemonTest, ConfigFileTextfileAndFinalTickOnSigterm) {
  ScopedSegmentName seg(UniqueName("sd"));
  TempDir dir;
  auto s = Segment::Create(seg.str(), Small());
  s.RegisterCounter({"cfg_total", {{"a", "b"}}, "from the config test", ""}).Inc(3);
  std::ofstream(dir / "shmstatsd.conf")
      << "segment = " << seg.str() << "\ninterval = 1h\nstate-dir = " << dir.str()
      << "\nlisten = 127.0.0.1:0\nport-file = " << (dir / "ports")
      << "\ntextfile = " << (dir / "shmstats.prom") << "\n";
  Child d({SHMSTATSD_PATH, "--config", dir / "shmstatsd.conf"}, dir / "shmstatsd.log");
  int port = AwaitPort(dir / "ports");
  ASSERT_NE(port, 0) << d.Log();
  double ticks = 0;
  ASSERT_TRUE(WaitFor([&] {
    ticks = Scalar(Get(port, "/metrics").body, "shmstatsd_ticks_total");
    return ticks >= 1;  // the tick at start; the next would be in an hour
  })) << d.Log();
  std::string prom = ReadFile(dir / "shmstats.prom");
  EXPECT_NE(prom.find("cfg_total{a=\"b\"} 3"), std::string::npos) << prom;
  EXPECT_EQ(PromtoolCheck(prom, dir), "");
  ASSERT_EQ(d.Stop(SIGTERM), 0) << d.Log();
  history::Db db(dir / "history.db", history::Db::Mode::kReadOnly);
  auto count = db.Prepare("SELECT count(*) FROM ticks");
  ASSERT_TRUE(count.Step());
  EXPECT_EQ(count.Int(0), 2);  // the tick at start and the final snapshot
  EXPECT_NE(d.Log().find("final snapshot"), std::string::npos);
}

}  // namespace
}  // namespace shmstats::testing
