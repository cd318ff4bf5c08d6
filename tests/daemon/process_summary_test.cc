// SPDX-License-Identifier: Apache-2.0
// Range summaries from the real shmstatsd: GET /stats/summary and `statsctl history
// summary` agree with values computed here from the raw export of the same range,
// carry the daemon's --instance, and reject bad input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "daemon_harness.h"

namespace shmstats::testing {
namespace {

std::string Capture(const std::string& command, int* status) {
  Output o = Shell(command);
  *status = o.status;
  return o.out;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') {
      out += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", static_cast<unsigned char>(c));
      out += hex;
    }
  }
  return out;
}

const nlohmann::json* Row(const nlohmann::json& doc, const std::string& name) {
  for (const auto& s : doc["series"]) {
    if (s["name"] == name) return &s;
  }
  return nullptr;
}

TEST(SummaryTest, HttpAndStatsctlMatchTheRawExport) {
  ScopedSegmentName seg(UniqueName("su"));
  TempDir dir;
  HistorySegment m(seg.str());
  Counter& c = m.c;
  Gauge& g = m.g;
  Histogram& h = m.h;
  Daemon d(seg.str(), dir, {"--instance", "alpha-1"});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(1));
  for (int i = 1; i <= 3; ++i) {
    c.Inc(10 * i);
    g.Set(0.1 * i);
    h.Observe(0.05 * i);
    h.Observe(0.5 * i);
    ASSERT_TRUE(d.AwaitTicks(1));
  }
  const std::string from = "2000-01-01T00:00:00Z";
  const std::string to = "now";
  const std::string db = dir / "history.db";
  // The raw samples of the range: what every summary must add up to.
  int status = -1;
  std::string sc = std::string(STATSCTL_PATH) + " --json history --db " + db;
  ASSERT_EQ(d.child().Stop(SIGTERM), 0);  // the database no longer changes
  auto raw = nlohmann::json::parse(Capture(sc + " export --from " + from + " --to " + to, &status),
                                   nullptr, false);
  ASSERT_EQ(status, 0);
  uint64_t increase = 0, count = 0;
  double gmin = 1e300, gmax = -1e300, gsum = 0, glast = 0, hsum = 0;
  int gn = 0;
  for (const auto& sample : raw["samples"]) {
    if (sample["name"] == "req_total") increase += sample["value"].get<uint64_t>();
    if (sample["name"] == "inflight") {
      double v = sample["value"].get<double>();
      gmin = std::min(gmin, v), gmax = std::max(gmax, v), gsum += v, glast = v, ++gn;
    }
    if (sample["name"] == "wait_seconds") {
      count += sample["count"].get<uint64_t>();
      hsum += sample["sum"].get<double>();
    }
  }
  ASSERT_EQ(increase, 60u);
  ASSERT_EQ(count, 6u);
  ASSERT_GE(gn, 4);

  auto check = [&](const nlohmann::json& doc, const std::string& source) {
    SCOPED_TRACE(source);
    ASSERT_TRUE(doc.is_object());
    const auto* r = Row(doc, "req_total");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["increase"].get<uint64_t>(), increase);
    EXPECT_GT((*r)["rate"].get<double>(), 0);
    EXPECT_EQ((*r)["instance"], "alpha-1");
    const auto* gr = Row(doc, "inflight");
    ASSERT_TRUE(gr);
    EXPECT_EQ((*gr)["min"].get<double>(), gmin);
    EXPECT_EQ((*gr)["max"].get<double>(), gmax);
    EXPECT_EQ((*gr)["last"].get<double>(), glast);
    EXPECT_NEAR((*gr)["avg"].get<double>(), gsum / gn, 1e-12);
    EXPECT_EQ((*gr)["samples"].get<int>(), gn);
    const auto* hr = Row(doc, "wait_seconds");
    ASSERT_TRUE(hr);
    EXPECT_EQ((*hr)["count"].get<uint64_t>(), count);
    EXPECT_DOUBLE_EQ((*hr)["sum"].get<double>(), hsum);
    EXPECT_DOUBLE_EQ((*hr)["mean"].get<double>(), hsum / count);
    // Buckets (0, 0.1]: 0.05, 0.1; (0.1, 1]: 0.15, 0.5, 1.0; +Inf: 1.5. p50: rank 3
    // in (0.1, 1] one third in; p99: rank 5.94 falls in +Inf, reported as 1.
    EXPECT_DOUBLE_EQ((*hr)["p50"].get<double>(), 0.1 + 0.9 * (3.0 - 2) / 3);
    EXPECT_DOUBLE_EQ((*hr)["p99"].get<double>(), 1.0);
  };

  // statsctl, no daemon running.
  auto cli = Capture(sc + " summary '*' --from " + from + " --to " + to, &status);
  EXPECT_EQ(status, 0) << cli;
  check(nlohmann::json::parse(cli, nullptr, false), "statsctl");
  std::ofstream(dir / "summary.json") << cli;
  int valid = -1;
  auto log = Capture("python3 " SOURCE_DIR "/tests/statsctl/validate_json.py " SOURCE_DIR
                     "/docs/history.schema.json " +
                         (dir / "summary.json"),
                     &valid);
  EXPECT_EQ(valid, 0) << log;

  // Selecting and grouping by instance.
  auto mine = nlohmann::json::parse(
      Capture(sc + " summary '{instance=\"alpha-1\"}' --from " + from + " --by instance", &status));
  EXPECT_EQ(status, 0);
  EXPECT_EQ(mine["series"].size(), 3u);
  EXPECT_EQ(mine["by"], "instance");
  Capture(sc + " summary '{instance=\"beta\"}' --from " + from, &status);
  EXPECT_EQ(status, 1);
  Capture(sc + " summary req_total --from \"1' OR 1=1\"", &status);
  EXPECT_EQ(status, 2);
  Capture(sc + " summary req_total --by \"code; DROP TABLE series\"", &status);
  EXPECT_EQ(status, 2);

  // The same over HTTP, from a daemon serving the same database while waiting for
  // a segment that does not exist (so it adds no samples).
  TempDir other;
  ScopedSegmentName seg2(UniqueName("su2"));
  Daemon server(seg2.str(), other, {"--history-db", db, "--instance", "alpha-1"});
  ASSERT_TRUE(server.ready()) << server.child().Log();
  auto r = Get(server.port(), "/stats/summary?metric=" + Escape("*") + "&from=" + from +
                                  "&to=" + Escape(to) + "&format=json");
  ASSERT_EQ(r.status, 200) << r.body;
  check(nlohmann::json::parse(r.body, nullptr, false), "http");
  auto csv = Get(server.port(), "/stats/summary?metric=req_total&from=" + from + "&format=csv");
  EXPECT_EQ(csv.status, 200);
  EXPECT_NE(csv.body.find("req_total,\"{code=\"\"200\"\"}\",alpha-1,counter,1,"), std::string::npos)
      << csv.body;
  for (const std::string& bad : std::vector<std::string>{
           "from=" + Escape("'; DROP TABLE series; --"), "by=" + Escape("x') OR 1=1"),
           "metric=" + Escape("a{b=\"1\" OR 1=1"), "format=xml", "from=now&to=-1h"}) {
    auto b = Get(server.port(), "/stats/summary?" + bad);
    EXPECT_EQ(b.status, 400) << bad << ": " << b.body;
  }
}

}  // namespace
}  // namespace shmstats::testing
