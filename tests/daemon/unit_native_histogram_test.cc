// SPDX-License-Identifier: Apache-2.0
// Native histograms on the wire: the span/delta conversion against hand-worked
// cases, and the protobuf exposition and remote-write bodies of a real segment
// decoded with the code protoc generated: every observation in the bucket the
// native-histogram definition gives (computed here with log2), the classic
// buckets beside them equal to the text format's.

#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>
#include <map>
#include <random>

#include "common/exposition.h"
#include "daemon/http/metrics.pb.h"
#include "daemon/http/protobuf_exposition.h"
#include "daemon/native_histogram.h"
#include "daemon/push/encode.h"
#include "daemon/push/remote_write.pb.h"
#include "daemon_harness.h"

namespace shmstats::daemon {
namespace {

namespace pb = shmstats::exposition;
namespace rw = shmstats::remote_write;
using testing::ScopedSegmentName;
using testing::UniqueName;

TEST(NativeHistogramTest, SpansJoinSmallGapsAndOverflowGoesToTheNextBucketOut) {
  HistogramValue h;
  h.exponential = true;
  h.schema = 0;
  h.first_index = -1;  // 4 buckets of each sign: indexes -1 .. 2
  h.zero_threshold = 1e-9;
  // [neg overflow][neg 2, 1, 0, -1][zero][pos -1, 0, 1, 2][+Inf]
  h.counts = {1, 0, 0, 3, 0, 2, 4, 0, 0, 0, 5};
  h.sum = 12.5;
  NativeHistogram n = ToNative(h);
  EXPECT_EQ(n.schema, 0);
  EXPECT_EQ(n.zero_threshold, 1e-9);
  EXPECT_EQ(n.zero_count, 2u);
  EXPECT_EQ(n.count, 15u);
  EXPECT_EQ(n.sum, 12.5);
  // Positive: index -1 (4), then overflow at index 3 (5) after a gap of 3: two spans.
  ASSERT_EQ(n.positive_spans.size(), 2u);
  EXPECT_EQ(n.positive_spans[0].offset, -1);
  EXPECT_EQ(n.positive_spans[0].length, 1u);
  EXPECT_EQ(n.positive_spans[1].offset, 3);
  EXPECT_EQ(n.positive_spans[1].length, 1u);
  EXPECT_EQ(n.positive_deltas, (std::vector<int64_t>{4, 1}));
  // Negative: index 0 (3), overflow at index 3 (1): a gap of 2 stays in the span.
  ASSERT_EQ(n.negative_spans.size(), 1u);
  EXPECT_EQ(n.negative_spans[0].offset, 0);
  EXPECT_EQ(n.negative_spans[0].length, 4u);
  EXPECT_EQ(n.negative_deltas, (std::vector<int64_t>{3, -3, 0, 1}));
}

TEST(NativeHistogramTest, EmptyHistogramHasNoBuckets) {
  HistogramValue h;
  h.exponential = true;
  h.schema = 3;
  h.counts.assign(2 * 5 + 3, 0);
  NativeHistogram n = ToNative(h);
  EXPECT_EQ(n.count, 0u);
  EXPECT_TRUE(n.positive_spans.empty());
  EXPECT_TRUE(n.negative_spans.empty());
}

// Bucket index -> count, from spans and deltas.
template <class Spans, class Deltas>
std::map<int64_t, uint64_t> Expand(const Spans& spans, const Deltas& deltas) {
  std::map<int64_t, uint64_t> out;
  int64_t index = 0;
  int64_t count = 0;
  int d = 0;
  // The first offset is an index, later ones the gap after the previous span.
  for (const auto& span : spans) {
    index += span.offset();
    for (uint32_t i = 0; i < span.length(); ++i, ++index) {
      count += deltas.Get(d++);
      if (count != 0) out[index] = static_cast<uint64_t>(count);
    }
  }
  EXPECT_EQ(d, deltas.size());
  return out;
}

// The native bucket of v != 0 by the definition: (2^((i-1)/2^s), 2^(i/2^s)].
int64_t ReferenceIndex(double v, int schema) {
  return static_cast<int64_t>(std::ceil(std::log2(std::fabs(v)) * std::ldexp(1.0, schema)));
}

// A segment with one exponential histogram holding positive, zero and negative
// observations (kept away from bucket bounds and inside the range), and what the
// definition says each bucket must hold.
struct Observed {
  std::map<int64_t, uint64_t> positive, negative;
  uint64_t zero = 0;
};

Snapshot Record(const std::string& name, int schema, Observed* want) {
  Segment segment = Segment::Create(name, testing::Small());
  // At schema 8, 1e-3 .. 1e3 would take more than kMaxBuckets.
  const double min = schema > 4 ? 0.1 : 1e-3, max = 1 / min;
  Histogram h =
      segment.RegisterHistogram({"lat_seconds", {{"path", "/a"}}, "Latency", "seconds"},
                                ExponentialBuckets{.min = min, .max = max, .schema = schema});
  std::mt19937_64 rng(schema + 7);
  std::uniform_real_distribution<double> exponent(std::log2(2 * min), std::log2(max / 2));
  for (int i = 0; i < 3000; ++i) {
    double v = std::exp2(exponent(rng));
    double scaled = std::log2(v) * std::ldexp(1.0, schema);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6) continue;  // too near a bound
    if (i % 3 == 0) {
      h.Observe(-v);
      ++want->negative[ReferenceIndex(v, schema)];
    } else {
      h.Observe(v);
      ++want->positive[ReferenceIndex(v, schema)];
    }
    if (i % 10 == 0) {
      h.Observe(0);
      ++want->zero;
    }
  }
  return segment.Read();
}

// The MetricFamily messages of a delimited stream.
std::vector<pb::MetricFamily> Decode(const std::string& body) {
  std::vector<pb::MetricFamily> out;
  size_t at = 0;
  while (at < body.size()) {
    uint64_t size = 0;
    for (int shift = 0; at < body.size(); shift += 7) {
      auto byte = static_cast<uint8_t>(body[at++]);
      size |= uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80)) break;
    }
    EXPECT_LE(at + size, body.size());
    EXPECT_TRUE(out.emplace_back().ParseFromArray(body.data() + at, static_cast<int>(size)));
    at += size;
  }
  return out;
}

TEST(ProtobufExpositionTest, NativeBucketsFollowTheDefinitionForEverySchema) {
  for (int schema : {-4, 0, 3, 8}) {
    ScopedSegmentName seg(UniqueName("pbx") + std::to_string(schema + 4));
    Observed want;
    Snapshot snap = Record(seg.str(), schema, &want);
    auto families = Decode(ToProtobuf(snap));
    ASSERT_EQ(families.size(), 1u);
    const pb::MetricFamily& f = families[0];
    EXPECT_EQ(f.name(), "lat_seconds");
    EXPECT_EQ(f.help(), "Latency");
    EXPECT_EQ(f.type(), pb::HISTOGRAM);
    ASSERT_EQ(f.metric_size(), 1);
    ASSERT_EQ(f.metric(0).label_size(), 1);
    EXPECT_EQ(f.metric(0).label(0).name(), "path");
    const pb::Histogram& h = f.metric(0).histogram();
    EXPECT_EQ(h.schema(), schema);
    EXPECT_EQ(h.zero_count(), want.zero);
    EXPECT_EQ(h.sample_count(), snap.metrics[0].histogram.count);
    EXPECT_EQ(h.sample_sum(), snap.metrics[0].histogram.sum);
    EXPECT_EQ(Expand(h.positive_span(), h.positive_delta()), want.positive) << "schema " << schema;
    EXPECT_EQ(Expand(h.negative_span(), h.negative_delta()), want.negative) << "schema " << schema;
  }
}

TEST(ProtobufExpositionTest, ClassicBucketsAreTheTextFormatsAndCountersAndGaugesToo) {
  ScopedSegmentName seg(UniqueName("pbc"));
  Observed want;
  Snapshot snap = Record(seg.str(), 3, &want);
  {
    Segment segment = Segment::Open(seg.str(), Access::kReadWrite);
    segment.RegisterCounter({"req_total", {{"code", "200"}}, "Requests", ""}).Inc(42);
    segment.RegisterGauge({"inflight", {}, "", ""}).Set(-2.5);
    segment.RegisterHistogram({"size_bytes", {}, "Sizes", "bytes"}, ExplicitBuckets{{10, 100}})
        .Observe(50);
    snap = segment.Read();
  }
  // The text format's bucket samples, by series and le.
  std::map<std::string, double> text;
  common::ForEachSample(snap, common::TextFormat::kPrometheus,
                        [&](std::string_view name, const Labels&, const std::string* le, double v) {
                          text[std::string(name) + (le ? "|" + *le : "")] = v;
                        });
  auto families = Decode(ToProtobuf(snap));
  ASSERT_EQ(families.size(), 4u);  // in name order, as the text format
  EXPECT_EQ(families[0].name(), "inflight");
  EXPECT_EQ(families[0].type(), pb::GAUGE);
  EXPECT_EQ(families[0].help(), "(no help text)");
  EXPECT_EQ(families[0].metric(0).gauge().value(), -2.5);
  EXPECT_EQ(families[2].name(), "req_total");
  EXPECT_EQ(families[2].type(), pb::COUNTER);
  EXPECT_EQ(families[2].metric(0).counter().value(), 42);
  for (int i : {1, 3}) {
    const pb::MetricFamily& f = families[i];
    const pb::Histogram& h = f.metric(0).histogram();
    size_t buckets = 0;
    for (const pb::Bucket& b : h.bucket()) {
      std::string key = f.name() + "_bucket|" + common::FormatBound(b.upper_bound());
      ASSERT_TRUE(text.count(key)) << key;
      EXPECT_EQ(static_cast<double>(b.cumulative_count()), text[key]) << key;
      ++buckets;
    }
    // Every finite text bucket is there; +Inf is sample_count.
    EXPECT_EQ(buckets + 1,
              static_cast<size_t>(std::count_if(text.begin(), text.end(), [&](auto& kv) {
                return kv.first.starts_with(f.name() + "_bucket|");
              })));
    EXPECT_EQ(static_cast<double>(h.sample_count()), text[f.name() + "_count"]);
    EXPECT_EQ(h.sample_sum(), text[f.name() + "_sum"]);
  }
  EXPECT_EQ(families[3].name(), "size_bytes");
  EXPECT_FALSE(families[3].metric(0).histogram().has_schema());  // explicit: classic only
  EXPECT_TRUE(families[1].metric(0).histogram().has_schema());
}

rw::WriteRequest DecodeWrite(const std::string& body) {
  std::string raw;
  EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  rw::WriteRequest req;
  EXPECT_TRUE(req.ParseFromString(raw));
  return req;
}

std::string NameOf(const rw::TimeSeries& ts) {
  for (const auto& l : ts.labels()) {
    if (l.name() == "__name__") return l.value();
  }
  return "";
}

TEST(RemoteWriteNativeTest, ExponentialHistogramsGoNativeOrClassicOnRequest) {
  ScopedSegmentName seg(UniqueName("rwn"));
  Observed want;
  Snapshot snap = Record(seg.str(), 3, &want);
  // What resets took is added: the histogram on the wire is cumulative.
  HistogramValue& hv = snap.metrics[0].histogram;
  hv.reset_counts.assign(hv.counts.size(), 0);
  const size_t zero = (hv.counts.size() - 3) / 2 + 1;
  hv.reset_counts[zero] = 4;
  hv.reset_sum = 0;
  const size_t classic = hv.counts.size() + 2;

  EXPECT_EQ(RemoteWriteSamples(snap), 1u);
  auto batches = EncodeRemoteWrite(snap, 1'700'000'000'000, {"", "host-a"});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].samples, 1u);
  rw::WriteRequest req = DecodeWrite(batches[0].body);
  ASSERT_EQ(req.timeseries_size(), 1);
  const rw::TimeSeries& ts = req.timeseries(0);
  EXPECT_EQ(NameOf(ts), "lat_seconds");
  EXPECT_EQ(ts.labels_size(), 3);  // __name__, instance, path
  EXPECT_EQ(ts.samples_size(), 0);
  ASSERT_EQ(ts.histograms_size(), 1);
  const rw::Histogram& h = ts.histograms(0);
  EXPECT_EQ(h.timestamp(), 1'700'000'000'000);
  EXPECT_EQ(h.schema(), 3);
  EXPECT_EQ(h.zero_count_int(), want.zero + 4);
  EXPECT_EQ(h.count_int(), hv.count + 4);
  EXPECT_EQ(h.sum(), hv.sum);
  EXPECT_EQ(Expand(h.positive_spans(), h.positive_deltas()), want.positive);
  EXPECT_EQ(Expand(h.negative_spans(), h.negative_deltas()), want.negative);

  EXPECT_EQ(RemoteWriteSamples(snap, /*classic_histograms=*/true), classic);
  batches = EncodeRemoteWrite(snap, 1, {"", "host-a"}, kRemoteWriteMaxSamples, true);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].samples, classic);
  req = DecodeWrite(batches[0].body);
  ASSERT_EQ(static_cast<size_t>(req.timeseries_size()), classic);
  for (const auto& series : req.timeseries()) {
    EXPECT_EQ(series.histograms_size(), 0);
    EXPECT_TRUE(NameOf(series).starts_with("lat_seconds_")) << NameOf(series);
  }
}

}  // namespace
}  // namespace shmstats::daemon
