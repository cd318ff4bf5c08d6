// SPDX-License-Identifier: Apache-2.0
// Native histograms leave the host natively: a real Prometheus 2.42 with
// --enable-feature=native-histograms scrapes shmstatsd (which answers in the
// protobuf format) and receives its remote-write; a second Prometheus without the
// feature scrapes the text format and receives a classic remote-write
// (--remote-write-classic-histograms). histogram_count, histogram_sum and
// histogram_quantile over each agree with `statsctl get` within the stated bound for
// positive, zero and negative observations. The history export of the same
// histograms backfills with promtool.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "daemon_harness.h"
#include "prom_server.h"

namespace shmstats::testing {
namespace {

constexpr int kSchema = 3;
constexpr const char* kProtobufAccept =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
    "q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

// Three series of one exponential histogram: all positive, all negative, and a mix
// whose median falls in the zero bucket; plus an explicit-bucket histogram.
void Record(Segment& segment) {
  auto family = [&](const char* sign) {
    return segment.RegisterHistogram(
        {"lat_seconds", {{"sign", sign}}, "Latency", "seconds"},
        ExponentialBuckets{.min = 1e-4, .max = 1e3, .schema = kSchema});
  };
  Histogram pos = family("pos"), neg = family("neg"), mixed = family("mixed");
  for (int i = 0; i < 1000; ++i) {
    double v = std::exp2(-12 + 20.0 * ((i * 7919) % 1000) / 1000.0);  // 2.4e-4 .. 256
    pos.Observe(v);
    neg.Observe(-v);
    mixed.Observe(i % 4 == 0 ? -v : i % 4 == 3 ? v : 0.0);
  }
  segment.RegisterHistogram({"size_bytes", {}, "Sizes", "bytes"}, ExplicitBuckets{{10, 100}})
      .Observe(50);
}

struct Expected {
  double count, sum, p50, p90, p99;
};

// What `statsctl get --json` says of each series, by sign.
std::map<std::string, Expected> StatsctlGet(const std::string& segment) {
  auto out =
      Shell(std::string(STATSCTL_PATH) + " --segment " + segment + " get lat_seconds --json");
  EXPECT_EQ(out.status, 0) << out.out;
  std::map<std::string, Expected> by_sign;
  const auto doc = nlohmann::json::parse(out.out);
  for (const auto& m : doc["metrics"]) {
    const auto& h = m["histogram"];
    by_sign[m["labels"]["sign"]] = {h["count"].get<double>(), h["sum"].get<double>(),
                                    h["p50"].get<double>(), h["p90"].get<double>(),
                                    h["p99"].get<double>()};
  }
  return by_sign;
}

// Two quantiles from the same bucket: they differ by at most the bucket's width,
// (2^(2^-schema) - 1) times the smaller magnitude, or both lie in the zero bucket.
void ExpectSameBucket(double prom, double ours, const std::string& what) {
  const double zero_threshold = 2.2250738585072014e-308;
  if (std::fabs(prom) <= zero_threshold && std::fabs(ours) <= zero_threshold) return;
  const double bound = std::exp2(std::exp2(-kSchema)) - 1;
  EXPECT_LE(std::fabs(prom - ours),
            bound * std::min(std::fabs(prom), std::fabs(ours)) * (1 + 1e-12))
      << what << ": Prometheus " << prom << ", statsctl " << ours;
}

// histogram_count/_sum/_quantile of the series that `matchers` select (native
// histograms, or the classic _bucket series) against statsctl.
enum class Wire { kNative, kClassic, kClassicNoSum };
void Compare(const PromServer& prom, const std::string& matchers, Wire wire, const Expected& want,
             const std::string& what) {
  auto q = [&](const std::string& promql) { return prom.Value(promql); };
  const std::string selector = "{" + matchers + "}";
  const std::string series =
      (wire == Wire::kNative ? "lat_seconds" : "lat_seconds_bucket") + selector;
  if (wire == Wire::kNative) {
    EXPECT_EQ(q("histogram_count(" + series + ")"), want.count) << what;
    EXPECT_NEAR(q("histogram_sum(" + series + ")"), want.sum, 1e-12 * std::fabs(want.sum) + 1e-12)
        << what;
  } else {
    EXPECT_EQ(q("lat_seconds_bucket{" + matchers + ",le=\"+Inf\"}"), want.count) << what;
    if (wire == Wire::kClassic) {
      EXPECT_EQ(q("lat_seconds_count" + selector), want.count) << what;
      EXPECT_NEAR(q("lat_seconds_sum" + selector), want.sum, 1e-12 * std::fabs(want.sum) + 1e-12)
          << what;
    }
  }
  const std::pair<const char*, double> quantiles[] = {
      {"0.5", want.p50}, {"0.9", want.p90}, {"0.99", want.p99}};
  for (const auto& [phi, ours] : quantiles) {
    ExpectSameBucket(q(std::string("histogram_quantile(") + phi + ", " + series + ")"), ours,
                     what + " q" + phi);
  }
}

std::string ScrapeConfig(const std::string& job, int port) {
  return "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: " +
         job + "\n    static_configs:\n      - targets: ['127.0.0.1:" + std::to_string(port) +
         "']\n";
}

TEST(NativeHistogramTest, PrometheusScrapesAndReceivesNativeAndClassicHistograms) {
  ScopedSegmentName seg(UniqueName("nh"));
  Segment segment = Segment::Create(seg.str(), Small());
  Record(segment);
  const auto want = StatsctlGet(seg.str());
  ASSERT_EQ(want.size(), 3u);
  ASSERT_EQ(want.at("mixed").p50, want.at("mixed").p50);  // not NaN
  EXPECT_LE(std::fabs(want.at("mixed").p50), 1e-300);     // in the zero bucket

  // Two receivers: one with native histograms, one without (which gets the
  // classic remote-write of a second daemon). Each also scrapes the first daemon.
  PromOptions native_options;
  native_options.flags = {"--enable-feature=native-histograms"};
  PromServer native_prom(native_options);
  PromServer classic_prom;
  TempDir dir, dir2;
  Daemon d(seg.str(), dir, {"--remote-write", native_prom.write_url(), "--instance", "nh-native"});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  Daemon d2(seg.str(), dir2,
            {"--remote-write", classic_prom.write_url(), "--instance", "nh-classic",
             "--remote-write-classic-histograms"});
  ASSERT_TRUE(d2.ready()) << d2.child().Log();

  // /metrics negotiates: protobuf when asked as Prometheus asks for it.
  auto pb = Get(d.port(), "/metrics", {{"Accept", kProtobufAccept}});
  EXPECT_EQ(pb.status, 200);
  EXPECT_EQ(pb.content_type,
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
            "encoding=delimited");
  EXPECT_EQ(Get(d.port(), "/metrics").content_type, "text/plain; version=0.0.4; charset=utf-8");
  // Not without encoding=delimited, nor below OpenMetrics' quality.
  const std::string pb_type =
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily";
  EXPECT_EQ(Get(d.port(), "/metrics", {{"Accept", pb_type + ";encoding=text"}}).content_type,
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(
      Get(d.port(), "/metrics",
          {{"Accept", pb_type + ";encoding=delimited;q=0.4,application/openmetrics-text;q=0.5"}})
          .content_type,
      "application/openmetrics-text; version=1.0.0; charset=utf-8");

  native_prom.Configure(ScrapeConfig("native", d.port()));
  classic_prom.Configure(ScrapeConfig("classic", d.port()));
  ASSERT_TRUE(native_prom.Start()) << native_prom.Log();
  ASSERT_TRUE(classic_prom.Start()) << classic_prom.Log();

  auto arrived = [&](const PromServer& prom, const std::string& promql) {
    return WaitFor([&] { return prom.Value(promql) == want.at("pos").count; }, 60);
  };
  // Scraped in protobuf: native histograms (no _bucket series); the explicit one classic.
  ASSERT_TRUE(arrived(native_prom, "histogram_count(lat_seconds{job=\"native\",sign=\"pos\"})"))
      << native_prom.Log() << d.child().Log();
  EXPECT_TRUE(native_prom.Query("lat_seconds_bucket{job=\"native\"}").empty());
  EXPECT_EQ(native_prom.Value("size_bytes_bucket{job=\"native\",le=\"100.0\"}"), 1);
  // Remote-written native histograms.
  ASSERT_TRUE(
      arrived(native_prom, "histogram_count(lat_seconds{instance=\"nh-native\",sign=\"pos\"})"))
      << native_prom.Log() << d.child().Log();
  // Scraped without the feature (text format), and remote-written as classic buckets.
  ASSERT_TRUE(arrived(classic_prom, "lat_seconds_bucket{job=\"classic\",sign=\"pos\",le=\"+Inf\"}"))
      << classic_prom.Log() << d.child().Log();
  ASSERT_TRUE(arrived(classic_prom, "lat_seconds_count{instance=\"nh-classic\",sign=\"pos\"}"))
      << classic_prom.Log() << d2.child().Log();

  for (const auto& [sign, expected] : want) {
    const std::string s = "sign=\"" + sign + "\"";
    Compare(native_prom, "job=\"native\"," + s, Wire::kNative, expected, "scraped native " + sign);
    Compare(native_prom, "instance=\"nh-native\"," + s, Wire::kNative, expected,
            "remote-written native " + sign);
    // OpenMetrics (what Prometheus asks for without native histograms) has no _sum
    // for a histogram with negative buckets, nor _count (ToText).
    Compare(classic_prom, "job=\"classic\"," + s, Wire::kClassicNoSum, expected,
            "scraped classic " + sign);
    Compare(classic_prom, "instance=\"nh-classic\"," + s, Wire::kClassic, expected,
            "remote-written classic " + sign);
  }
  EXPECT_EQ(native_prom.Log().find("level=error"), std::string::npos) << native_prom.Log();

  // The history of exponential histograms (negative buckets included) exports as
  // OpenMetrics that promtool backfills.
  ASSERT_TRUE(d.AwaitTicks(2)) << d.child().Log();
  const std::string om = dir / "export.om";
  auto e = Shell(std::string(STATSCTL_PATH) + " history export --db " + (dir / "history.db") +
                 " --from=-10m --format openmetrics > " + om);
  ASSERT_EQ(e.status, 0);
  EXPECT_NE(ReadFile(om).find("lat_seconds_bucket{"), std::string::npos);
  auto imported = Shell(std::string(PROMTOOL_PATH) + " tsdb create-blocks-from openmetrics " + om +
                        " " + (dir / "blocks"));
  EXPECT_EQ(imported.status, 0) << imported.out << ReadFile(om).substr(0, 2000);
}

}  // namespace
}  // namespace shmstats::testing
