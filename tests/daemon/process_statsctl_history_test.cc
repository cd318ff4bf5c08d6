// SPDX-License-Identifier: Apache-2.0
// `statsctl history` and `statsctl history export` against a database written by
// the real shmstatsd.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "daemon_harness.h"

namespace shmstats::testing {
namespace {

TEST(StatsctlHistoryTest, QueriesAndExportsTheDaemonsDatabase) {
  ScopedSegmentName seg(UniqueName("sh"));
  TempDir dir;
  HistorySegment m(seg.str());
  Counter& c = m.c;
  Gauge& g = m.g;
  Histogram& h = m.h;
  {
    Daemon d(seg.str(), dir);
    ASSERT_TRUE(d.ready()) << d.child().Log();
    ASSERT_TRUE(d.AwaitTicks(1));
    c.Inc(40);
    g.Set(3);
    ASSERT_TRUE(d.AwaitTicks(1));
    c.Inc(2);
    g.Set(9);
    h.Observe(0.05);
    h.Observe(0.5);
    ASSERT_TRUE(d.AwaitTicks(1));
    ASSERT_EQ(d.child().Stop(SIGTERM), 0);  // no daemon needed from here on
  }
  std::string sc = std::string(STATSCTL_PATH) + " --json history --db " + (dir / "history.db");
  auto q = Shell(sc + " 'req_total{code=\"200\"}' --from=-10m --step 1d");
  ASSERT_EQ(q.status, 0) << q.out;
  auto j = nlohmann::json::parse(q.out);
  uint64_t inc = 0;
  for (const auto& p : j["series"][0]["points"]) inc += p["increase"].get<uint64_t>();
  EXPECT_EQ(inc, 42u);
  auto gj = nlohmann::json::parse(Shell(sc + " inflight --from=-10m --step 1d").out);
  EXPECT_EQ(gj["series"][0]["points"].back()["max"].get<double>(), 9);

  auto hj = nlohmann::json::parse(Shell(sc + " wait_seconds --from=-10m --step 1d").out);
  EXPECT_EQ(hj["series"][0]["points"].back()["count"].get<uint64_t>(), 2u);
  EXPECT_DOUBLE_EQ(hj["series"][0]["points"].back()["sum"].get<double>(), 0.55);

  // Every JSON form validates against docs/history.schema.json.
  ASSERT_EQ(Shell(sc + " '*' --from=-10m --step 1m > " + (dir / "query.json")).status, 0);
  ASSERT_EQ(Shell(sc + " export --from=-10m > " + (dir / "export.json")).status, 0);
  ASSERT_EQ(Shell(sc + " info > " + (dir / "info.json")).status, 0);
  auto valid =
      Shell("python3 " SOURCE_DIR "/tests/statsctl/validate_json.py " SOURCE_DIR
            "/docs/history.schema.json " +
            (dir / "query.json") + " " + (dir / "export.json") + " " + (dir / "info.json"));
  EXPECT_EQ(valid.status, 0) << valid.out;
  EXPECT_NE(valid.out.find("3 documents valid"), std::string::npos) << valid.out;
  // statsctl history info: what the store holds, as the store says it.
  auto info = nlohmann::json::parse(ReadFile(dir / "info.json"));
  EXPECT_EQ(info["backend"], "sqlite");
  EXPECT_EQ(info["series"].get<int64_t>(), 3);
  EXPECT_EQ(info["bytes"].get<int64_t>() % 4096, 0);
  EXPECT_LE(info["oldest_unix_ms"].get<int64_t>(), info["newest_unix_ms"].get<int64_t>());
  EXPECT_EQ(Shell(std::string(STATSCTL_PATH) + " history info --db " + (dir / "history.db") +
                  " | grep -cE '^samples +[0-9]+ +[0-9]+$'")  // the table's row
                .out,
            "1\n");

  EXPECT_EQ(Shell(sc + " nothing_here --from=-10m").status, 1);
  EXPECT_EQ(Shell(sc + " req_total --step 7m").status, 2);

  std::string om = dir / "export.om";
  auto e = Shell(std::string(STATSCTL_PATH) + " history export --db " + (dir / "history.db") +
                 " --from=-10m --format openmetrics > " + om);
  ASSERT_EQ(e.status, 0);
  std::string text = ReadFile(om);
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);  // the daemon's default instance
  EXPECT_NE(text.find("req_total{code=\"200\",instance=\"" + std::string(host) + "\"} 42 "),
            std::string::npos)
      << text;
  auto imported = Shell(std::string(PROMTOOL_PATH) + " tsdb create-blocks-from openmetrics " + om +
                        " " + (dir / "blocks"));
  EXPECT_EQ(imported.status, 0) << imported.out;
}

}  // namespace
}  // namespace shmstats::testing
