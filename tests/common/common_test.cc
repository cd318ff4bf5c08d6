// SPDX-License-Identifier: Apache-2.0
// Unit tests of shmstats_common: selectors, FormatDouble, the text formats, ToJson.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "exposition.h"
#include "log_limiter.h"
#include "selector.h"
#include "shmstats/error.h"

namespace shmstats::common {
namespace {

MetricSnapshot Counter(std::string name, Labels labels, uint64_t v) {
  MetricSnapshot m;
  m.name = std::move(name);
  m.labels = std::move(labels);
  m.type = MetricType::kCounter;
  m.counter = v;
  return m;
}

MetricSnapshot Hist(std::string name, std::vector<double> bounds, std::vector<uint64_t> counts) {
  MetricSnapshot m;
  m.name = std::move(name);
  m.type = MetricType::kHistogram;
  m.histogram.bounds = std::move(bounds);
  m.histogram.counts = std::move(counts);
  for (auto c : m.histogram.counts) m.histogram.count += c;
  m.histogram.sum = 1.5;
  return m;
}

TEST(SelectorTest, NameGlobAndMatchers) {
  auto m = Counter("tool_calls_total", {{"status", "error_io"}, {"tool", "file_read"}}, 1);
  EXPECT_TRUE(Selector::Parse("tool_calls_total").Matches(m));
  EXPECT_TRUE(Selector::Parse("tool_*").Matches(m));
  EXPECT_TRUE(Selector::Parse("tool_calls_tota?").Matches(m));
  EXPECT_FALSE(Selector::Parse("tool_").Matches(m));
  EXPECT_TRUE(Selector::Parse("tool_calls_total{tool=\"file_read\"}").Matches(m));
  EXPECT_FALSE(Selector::Parse("tool_calls_total{tool=\"file\"}").Matches(m));
  EXPECT_TRUE(Selector::Parse("{status=~\"err.*\"}").Matches(m));
  EXPECT_FALSE(Selector::Parse("{status=~\"rror.*\"}").Matches(m));  // anchored
  EXPECT_TRUE(Selector::Parse("{status!~\"ok\", tool != 'x',}").Matches(m));
  EXPECT_TRUE(Selector::Parse("{absent=\"\"}").Matches(m));  // missing label is ""
  EXPECT_TRUE(Selector::Parse("{__name__=~\"tool_.*\"}").Matches(m));
  EXPECT_TRUE(Selector::Parse("tool_calls_total").IsPlainName());
  EXPECT_FALSE(Selector::Parse("tool_*").IsPlainName());
  EXPECT_FALSE(Selector::Parse("x{a=\"1\"}").IsPlainName());
}

TEST(SelectorTest, RegexesAreRe2FullyAnchoredAsInPromql) {
  auto m = Counter("tool_calls_total", {{"tool", "File_Read"}, {"city", "Z\u00fcrich"}}, 1);
  EXPECT_TRUE(Selector::Parse("{tool=~\"(?i)file_read\"}").Matches(m));  // RE2 flag group
  EXPECT_FALSE(Selector::Parse("{tool=~\"file_read\"}").Matches(m));
  EXPECT_FALSE(Selector::Parse("{tool=~\"(?i)read\"}").Matches(m));  // anchored both ends
  EXPECT_FALSE(Selector::Parse("{tool=~\"File\"}").Matches(m));
  EXPECT_FALSE(Selector::Parse("{tool=~\"File_R|x\"}").Matches(m));  // ^(?:a|b)$
  EXPECT_TRUE(Selector::Parse("{tool=~\"x|File_Read\"}").Matches(m));
  EXPECT_TRUE(Selector::Parse("{city=~\"Z.rich\"}").Matches(m));  // . is one UTF-8 character
  EXPECT_TRUE(Selector::Parse("{tool=~\"\\\\w+\"}").Matches(m));  // \w, escaped in the quotes
  EXPECT_FALSE(Selector::Parse("{tool!~\"(?i)file_.*\"}").Matches(m));
  // ECMAScript-only syntax (lookahead, backreferences) is refused, as PromQL refuses it.
  for (const char* bad : {"{tool=~\"(?=F).*\"}", "{tool=~\"(a)\\\\1\"}"}) {
    try {
      Selector::Parse(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("RE2 syntax"), std::string::npos) << e.what();
    }
  }
}

TEST(SelectorTest, EscapesInValues) {
  auto m = Counter("x", {{"p", "a\"b\\c\nd"}}, 1);
  EXPECT_TRUE(Selector::Parse(R"(x{p="a\"b\\c\nd"})").Matches(m));
}

TEST(SelectorTest, MalformedSelectorsSayWhere) {
  for (const char* bad : {"", "a{b=}", "a{b=\"1\"", "a{", "9a", "a b", "a{b==\"1\"}",
                          "a{b=\"\\q\"}", "{a=~\"(\"}", "a{__x=\"1\"}", "{}", "a{b=\"1\"}x"}) {
    try {
      Selector::Parse(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("malformed selector"), std::string::npos) << e.what();
    }
  }
  try {
    Selector::Parse("a{b=}");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected a quoted value at column 5"), std::string::npos)
        << e.what();
  }
}

TEST(FormatDoubleTest, ShortestAndLocaleFree) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(1), "1");
  EXPECT_EQ(FormatDouble(-2.5), "-2.5");
  EXPECT_EQ(FormatDouble(1e300), "1e+300");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatDouble(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatDouble(std::nan("")), "NaN");
}

// Bounds as prometheus_client writes them (Go's formatting), so that a migrated
// histogram keeps its bucket series.
TEST(FormatBoundTest, AsPrometheusClient) {
  EXPECT_EQ(FormatBound(1), "1.0");
  EXPECT_EQ(FormatBound(0.005), "0.005");
  EXPECT_EQ(FormatBound(2.5), "2.5");
  EXPECT_EQ(FormatBound(1e-6), "1e-06");
  EXPECT_EQ(FormatBound(100000), "100000.0");
  EXPECT_EQ(FormatBound(1e6), "1e+06");
  EXPECT_EQ(FormatBound(1234567.5), "1.2345675e+06");
  EXPECT_EQ(FormatBound(-1), "-1.0");
  EXPECT_EQ(FormatBound(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(ExpositionTest, FloatCounterPrintsItsDouble) {
  Snapshot s;
  s.metrics.push_back(Counter("f_total", {}, 0));
  s.metrics.back().fractional = true;
  s.metrics.back().counter_double = 0.30000000000000004;
  EXPECT_EQ(ToText(s, TextFormat::kPrometheus),
            "# HELP f_total (no help text)\n# TYPE f_total counter\nf_total 0.30000000000000004\n");
}

TEST(ExpositionTest, PrometheusFamiliesOnceAndEscaped) {
  Snapshot s;
  s.metrics.push_back(Counter("b_total", {{"k", "x\"y\\z\nw"}}, UINT64_MAX));
  s.metrics.push_back(Counter("a_total", {}, 1));
  s.metrics.push_back(Counter("b_total", {{"k", "1"}}, 2));
  s.metrics.push_back(Counter("b_total", {{"k", "2"}}, 3));
  s.metrics.back().type = MetricType::kGauge;  // another type than its family: dropped
  s.metrics[0].help = "ignored: another series's labels sort first";
  s.metrics[2].help = "line\nbreak \\";
  // Families by name, series in snapshot order, HELP of the labels that sort first.
  EXPECT_EQ(ToText(s, TextFormat::kPrometheus),
            "# HELP a_total (no help text)\n# TYPE a_total counter\na_total 1\n"
            "# HELP b_total line\\nbreak \\\\\n# TYPE b_total counter\n"
            "b_total{k=\"x\\\"y\\\\z\\nw\"} 18446744073709551615\nb_total{k=\"1\"} 2\n");
}

TEST(ExpositionTest, HistogramCumulativeEndsInInfEqualToCount) {
  Snapshot s;
  s.metrics.push_back(Hist("lat_seconds", {0.1, 1}, {2, 0, 3}));
  EXPECT_EQ(ToText(s, TextFormat::kPrometheus),
            "# HELP lat_seconds (no help text)\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.1\"} 2\nlat_seconds_bucket{le=\"1.0\"} 2\n"
            "lat_seconds_bucket{le=\"+Inf\"} 5\nlat_seconds_count 5\nlat_seconds_sum 1.5\n");
}

TEST(ExpositionTest, OpenMetricsCounterFamilyUnitAndEof) {
  Snapshot s;
  s.metrics.push_back(Counter("sent_bytes_total", {}, 4));
  s.metrics.back().unit = "bytes";
  s.metrics.push_back(Counter("jobs", {}, 2));
  s.metrics.back().unit = "seconds";  // the name does not end in it: no UNIT
  EXPECT_EQ(ToText(s, TextFormat::kOpenMetrics),
            "# HELP jobs (no help text)\n# TYPE jobs counter\njobs_total 2\n"
            "# HELP sent_bytes (no help text)\n# TYPE sent_bytes counter\n"
            "# UNIT sent_bytes bytes\nsent_bytes_total 4\n# EOF\n");
}

TEST(ExpositionTest, CollidingFamiliesAreLeftOut) {
  Snapshot s;
  s.metrics.push_back(Hist("x", {1}, {1, 0}));
  s.metrics.push_back(Counter("x_count", {}, 9));
  std::string text = ToText(s, TextFormat::kPrometheus);
  EXPECT_EQ(text.find("x_count 9"), std::string::npos) << text;
  s.metrics.clear();
  s.metrics.push_back(Counter("y", {}, 1));
  s.metrics.push_back(Counter("y_total", {}, 2));
  text = ToText(s, TextFormat::kOpenMetrics);
  EXPECT_EQ(text, "# HELP y (no help text)\n# TYPE y counter\ny_total 1\n# EOF\n");
}

// prometheus_client's rule in every format: a counter's series is <name>_total.
TEST(ExpositionTest, CounterIsNamedTotalInEveryFormat) {
  Snapshot s;
  s.metrics.push_back(Counter("jobs", {{"q", "a"}}, 2));  // a statsd counter `jobs`
  s.metrics.push_back(Counter("hits_total", {}, 3));
  EXPECT_EQ(SeriesName(s.metrics[0]), "jobs_total");
  EXPECT_EQ(SeriesName(s.metrics[1]), "hits_total");
  EXPECT_EQ(SeriesName("temp", MetricType::kGauge), "temp");
  EXPECT_EQ(ToText(s, TextFormat::kPrometheus),
            "# HELP hits_total (no help text)\n# TYPE hits_total counter\nhits_total 3\n"
            "# HELP jobs_total (no help text)\n# TYPE jobs_total counter\n"
            "jobs_total{q=\"a\"} 2\n");
  EXPECT_EQ(ToText(s, TextFormat::kOpenMetrics),
            "# HELP hits (no help text)\n# TYPE hits counter\nhits_total 3\n"
            "# HELP jobs (no help text)\n# TYPE jobs counter\njobs_total{q=\"a\"} 2\n# EOF\n");
  for (auto format : {TextFormat::kPrometheus, TextFormat::kOpenMetrics}) {
    std::vector<std::string> names;
    ForEachSample(s, format, [&](std::string_view name, const Labels&, const std::string*, double) {
      names.emplace_back(name);
    });
    EXPECT_EQ(names, (std::vector<std::string>{"hits_total", "jobs_total"}));
  }
  EXPECT_EQ(ToJson(s.metrics[0], false)["name"], "jobs_total");
  std::string json;
  AppendJson(&json, s.metrics[0], false);
  EXPECT_EQ(json, ToJson(s.metrics[0], false).dump());
  // Selectors find it by either name; a gauge only by its own.
  for (const char* sel : {"jobs", "jobs_total", "jobs_*", "jobs_total{q=\"a\"}"})
    EXPECT_TRUE(Selector::Parse(sel).Matches(s.metrics[0])) << sel;
  EXPECT_FALSE(Selector::Parse("jobs_total{q=\"b\"}").Matches(s.metrics[0]));
  MetricSnapshot g;
  g.name = "temp";
  g.type = MetricType::kGauge;
  EXPECT_TRUE(Selector::Parse("temp").Matches(g));
  EXPECT_FALSE(Selector::Parse("temp_total").Matches(g));
  // Counters `y` and `y_total` would be one series: the second is left out.
  s.metrics = {Counter("y", {}, 1), Counter("y_total", {}, 2)};
  EXPECT_EQ(ToText(s, TextFormat::kPrometheus),
            "# HELP y_total (no help text)\n# TYPE y_total counter\ny_total 1\n");
}

TEST(ToJsonTest, ExactCountersAndNullForNaN) {
  auto c = ToJson(Counter("c_total", {{"a", "b"}}, UINT64_MAX), false);
  EXPECT_EQ(c.dump(), R"({"help":"","labels":{"a":"b"},"name":"c_total","type":"counter",)"
                      R"("unit":"","value":18446744073709551615})");
  auto h = ToJson(Hist("h", {1}, {0, 0}), true);
  EXPECT_EQ(h["histogram"]["p50"].dump(), "null");  // NaN is written as null
  EXPECT_EQ(h["histogram"]["buckets"].dump(), R"([{"count":0,"le":1.0},{"count":0,"le":"+Inf"}])");
}

TEST(AppendJsonTest, SameDocumentAsToJson) {
  std::vector<MetricSnapshot> metrics = {Counter("c_total", {{"a", "q\"\\\n\x01"}}, UINT64_MAX),
                                         Hist("h", {0.5, 1}, {1, 0, 2}), Hist("e", {1}, {0, 0})};
  MetricSnapshot g;
  g.name = "g";
  g.type = MetricType::kGauge;
  g.gauge = -0.1;
  g.help = "tab\there";
  g.unit = "ratio";
  metrics.push_back(g);
  metrics.back().gauge = std::nan("");
  metrics.push_back(g);
  for (bool buckets : {false, true}) {
    for (const auto& m : metrics) {
      std::string text;
      AppendJson(&text, m, buckets);
      EXPECT_EQ(nlohmann::json::parse(text), nlohmann::json::parse(ToJson(m, buckets).dump()))
          << text;
    }
  }
}

TEST(LogLimiterTest, OneLinePerKindPerWindowThenTheSuppressedCount) {
  LogLimiter limiter(std::chrono::seconds(60));
  auto t0 = LogLimiter::Clock::time_point() + std::chrono::hours(1);
  EXPECT_EQ(limiter.Admit("a", "first", t0), "first");
  EXPECT_EQ(limiter.Admit("b", "other kind", t0), "other kind");
  for (int i = 1; i < 300; ++i) {
    EXPECT_EQ(limiter.Admit("a", "again", t0 + std::chrono::milliseconds(200 * i)), std::nullopt);
  }
  EXPECT_EQ(limiter.Admit("a", "later", t0 + std::chrono::seconds(61)),
            "later (299 similar lines suppressed)");
  EXPECT_EQ(limiter.Admit("a", "much later", t0 + std::chrono::seconds(200)), "much later");
}

}  // namespace
}  // namespace shmstats::common
