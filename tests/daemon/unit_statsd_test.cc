// SPDX-License-Identifier: Apache-2.0
// The statsd line parser and the listener's mapping into a real segment (no sockets:
// StatsdListener::Ingest is what Run does with each datagram).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "daemon/statsd/listener.h"
#include "daemon/statsd/parser.h"
#include "shmstats/shmstats.h"

namespace shmstats::daemon {
namespace {

using statsd::Line;
using statsd::ParseLine;
using statsd::Result;
using statsd::Type;

TEST(StatsdParser, CounterWithRateAndTags) {
  Line line;
  ASSERT_EQ(ParseLine("api.requests:3|c|@0.5|#env:prod,region:eu", line), Result::kOk);
  EXPECT_EQ(line.name, "api.requests");
  EXPECT_EQ(line.values, "3");
  EXPECT_EQ(line.type, Type::kCounter);
  EXPECT_EQ(line.sample_rate, 0.5);
  EXPECT_EQ(line.tags, "env:prod,region:eu");
}

TEST(StatsdParser, TypesAndDogStatsdFields) {
  Line line;
  ASSERT_EQ(ParseLine("t:12.5|ms", line), Result::kOk);
  EXPECT_EQ(line.type, Type::kTimer);
  ASSERT_EQ(ParseLine("g:-2|g", line), Result::kOk);
  EXPECT_EQ(line.type, Type::kGauge);
  ASSERT_EQ(ParseLine("h:1:2:3|h|#a:b|c:abc123|T1656581400", line), Result::kOk);
  EXPECT_EQ(line.type, Type::kHistogram);
  EXPECT_EQ(line.values, "1:2:3");
  ASSERT_EQ(ParseLine("d:4|d", line), Result::kOk);
  EXPECT_EQ(line.type, Type::kDistribution);
}

// DogStatsD 1.3+: external data (e:), cardinality (card:) and single-letter fields of
// later versions are accepted and ignored, wherever they come after the type.
TEST(StatsdParser, DogStatsd13FieldsAreIgnored) {
  Line line;
  for (const char* text : {"x:1|c|c:in-1|e:it-false,cn-web", "x:1|c|#env:prod|card:high",
                           "x:1|c|card:low|@0.5|#env:prod", "x:1|c|e:|c:ci-9|T1700000000",
                           "x:1|c|z:future-field|#env:prod"}) {
    ASSERT_EQ(ParseLine(text, line), Result::kOk) << text;
    EXPECT_EQ(line.name, "x");
    EXPECT_EQ(line.values, "1");
  }
  ASSERT_EQ(ParseLine("x:1|c|card:low|@0.5|#env:prod", line), Result::kOk);
  EXPECT_EQ(line.sample_rate, 0.5);
  EXPECT_EQ(line.tags, "env:prod");
  EXPECT_EQ(ParseLine("x:1|c|zz", line), Result::kBadField);  // no "<letter>:" field
  EXPECT_EQ(ParseLine("x:1|c|Tsoon", line), Result::kBadField);
}

// A rate whose inverse (the count a line stands for) overflows is refused, never
// recorded as nothing.
TEST(StatsdParser, RatesWhoseInverseOverflowsAreRefused) {
  Line line;
  for (const char* text : {"x:1|h|@1e-19", "x:1|c|@1e-300", "x:1|ms|@4.9e-324"}) {
    EXPECT_EQ(ParseLine(text, line), Result::kBadSampleRate) << text;
  }
  ASSERT_EQ(ParseLine("x:1|h|@1e-18", line), Result::kOk);  // 1e18 < 2^63
  EXPECT_EQ(line.sample_rate, 1e-18);
}

TEST(StatsdParser, RefusalsByReason) {
  Line line;
  EXPECT_EQ(ParseLine("no_colon|c", line), Result::kMalformed);
  EXPECT_EQ(ParseLine(":1|c", line), Result::kMalformed);
  EXPECT_EQ(ParseLine("x:1", line), Result::kMalformed);
  EXPECT_EQ(ParseLine("x|c:1", line), Result::kMalformed);
  EXPECT_EQ(ParseLine("x:abc|c", line), Result::kBadValue);
  EXPECT_EQ(ParseLine("x:nan|g", line), Result::kBadValue);
  EXPECT_EQ(ParseLine("x:inf|ms", line), Result::kBadValue);
  EXPECT_EQ(ParseLine("x:1e999|ms", line), Result::kBadValue);
  EXPECT_EQ(ParseLine("x:-1|c", line), Result::kBadValue);
  EXPECT_EQ(ParseLine("x:|c", line), Result::kBadValue);
  EXPECT_EQ(ParseLine("x:1|q", line), Result::kBadType);
  EXPECT_EQ(ParseLine("x:1|", line), Result::kBadType);
  EXPECT_EQ(ParseLine("x:1|s", line), Result::kUnsupported);
  EXPECT_EQ(ParseLine("_e{5,4}:title|text", line), Result::kUnsupported);
  EXPECT_EQ(ParseLine("_sc|check|0", line), Result::kUnsupported);
  EXPECT_EQ(ParseLine("x:1|c|@0", line), Result::kBadSampleRate);
  EXPECT_EQ(ParseLine("x:1|c|@1.5", line), Result::kBadSampleRate);
  EXPECT_EQ(ParseLine("x:1|c|@abc", line), Result::kBadSampleRate);
  EXPECT_EQ(ParseLine("x:1|c|zz", line), Result::kBadField);
}

TEST(StatsdParser, ValuesAndLines) {
  double v;
  bool relative;
  ASSERT_TRUE(statsd::ParseValue("+3", v, relative));
  EXPECT_TRUE(relative);
  EXPECT_EQ(v, 3);
  ASSERT_TRUE(statsd::ParseValue("-2.5", v, relative));
  EXPECT_TRUE(relative);
  EXPECT_EQ(v, -2.5);
  ASSERT_TRUE(statsd::ParseValue("1e3", v, relative));
  EXPECT_FALSE(relative);
  EXPECT_EQ(v, 1000);
  EXPECT_FALSE(statsd::ParseValue("0x10", v, relative));
  EXPECT_FALSE(statsd::ParseValue("1 ", v, relative));
  std::vector<std::string> lines;
  statsd::ForEachLine("a:1|c\r\n\nb:2|g\n", [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(lines, (std::vector<std::string>{"a:1|c", "b:2|g"}));
}

TEST(StatsdParser, EscapeNameAsStatsdExporter) {
  EXPECT_EQ(statsd::EscapeName("api.req-count"), "api_req_count");
  EXPECT_EQ(statsd::EscapeName("5xx"), "_5xx");
  EXPECT_EQ(statsd::EscapeName("caf\xc3\xa9.x"), "caf__x");
  EXPECT_EQ(statsd::EscapeName("a:b/c d"), "a_b_c_d");
}

class StatsdListenerTest : public ::testing::Test {
 protected:
  void SetUp() override { Segment::Remove(name_); }
  void TearDown() override { Segment::Remove(name_); }

  const MetricSnapshot* Find(const Snapshot& snap, std::string_view metric,
                             const Labels& labels = {}) {
    for (const auto& m : snap.metrics) {
      if (m.name == metric && m.labels == labels) return &m;
    }
    return nullptr;
  }

  std::string name_ = "statsd-unit-" + std::to_string(getpid());
};

TEST_F(StatsdListenerTest, MapsEveryTypeIntoTheSegment) {
  StatsdListener listener(name_, "", "");
  listener.Ingest(
      "api.requests:1|c\napi.requests:2|c|@0.5\n"
      "queue-depth:10|g\nqueue-depth:+3|g\nqueue-depth:-5|g\n"
      "db.query:250|ms\ndb.query:750|ms\n"
      "payload:1024|h\nlatency:0.5|d|#env:prod,tier.web:front,bare\n");
  Snapshot snap = Segment::Open(name_, Access::kReadOnly).Read();
  const MetricSnapshot* c = Find(snap, "api_requests");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->type, MetricType::kCounter);
  EXPECT_EQ(c->counter, 5u);  // 1 + 2/0.5
  const MetricSnapshot* g = Find(snap, "queue_depth");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->gauge, 8);
  const MetricSnapshot* t = Find(snap, "db_query");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->unit, "seconds");
  EXPECT_EQ(t->histogram.count, 2u);
  EXPECT_DOUBLE_EQ(t->histogram.sum, 1.0);  // 0.25 s + 0.75 s
  const MetricSnapshot* h = Find(snap, "payload");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->histogram.sum, 1024);
  const MetricSnapshot* d = Find(snap, "latency", {{"env", "prod"}, {"tier_web", "front"}});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->histogram.count, 1u);
  // Timers, histograms and distributions have native buckets: they leave the host
  // as native histograms (protobuf /metrics, remote-write).
  for (const MetricSnapshot* m : {t, h, d}) {
    EXPECT_TRUE(m->histogram.exponential) << m->name;
    EXPECT_EQ(m->histogram.schema, kStatsdBuckets.schema) << m->name;
  }
  EXPECT_EQ(listener.lines(Result::kOk), 9u);
}

TEST_F(StatsdListenerTest, FractionalCountsCarryOver) {
  StatsdListener listener(name_, "", "");
  for (int i = 0; i < 10; ++i) listener.Ingest("sampled:1|c|@0.3");  // 10 x 3.33
  Snapshot snap = Segment::Open(name_, Access::kReadOnly).Read();
  ASSERT_NE(Find(snap, "sampled"), nullptr);
  EXPECT_EQ(Find(snap, "sampled")->counter, 33u);
}

TEST_F(StatsdListenerTest, RefusedLinesAreCountedPerReason) {
  StatsdListener listener(name_, "", "");
  listener.Ingest("x:1|c\nx:1|g\nx:1|g\n" + std::string(kMaxNameBytes + 1, 'n') + ":1|c\n" +
                  "y:1|c|#__reserved:1\nbad\nz:1|s\n");
  EXPECT_EQ(listener.lines(Result::kOk), 1u);
  EXPECT_EQ(listener.lines(Result::kTypeConflict), 2u);
  EXPECT_EQ(listener.lines(Result::kInvalidName), 2u);
  EXPECT_EQ(listener.lines(Result::kMalformed), 1u);
  EXPECT_EQ(listener.lines(Result::kUnsupported), 1u);
  std::vector<MetricSnapshot> self;
  listener.Collect(self);
  bool found = false;
  for (const auto& m : self) {
    if (m.name == "shmstatsd_statsd_lines_total" &&
        m.labels == Labels{{"result", "type_conflict"}}) {
      found = m.counter == 2;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(StatsdListenerTest, FullSegmentIsCountedNotFatal) {
  SegmentOptions small;
  small.max_metrics = 4;
  small.max_slots = 4096;
  Segment::Create(name_, small);
  StatsdListener listener(name_, "", "");
  for (int i = 0; i < 10; ++i) listener.Ingest("full" + std::to_string(i) + ":1|c");
  EXPECT_EQ(listener.lines(Result::kOk), 4u);
  EXPECT_EQ(listener.lines(Result::kSegmentFull), 6u);
  listener.Ingest("full0:1|c");  // existing series keep working
  EXPECT_EQ(listener.lines(Result::kOk), 5u);
}

}  // namespace
}  // namespace shmstats::daemon
