// SPDX-License-Identifier: Apache-2.0
#include "daemon/http/protobuf_exposition.h"

#include "common/exposition.h"
#include "daemon/http/metrics.pb.h"
#include "daemon/native_histogram.h"

namespace shmstats::daemon {
namespace {

namespace pb = shmstats::exposition;

pb::MetricType TypeOf(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return pb::COUNTER;
    case MetricType::kGauge:
      return pb::GAUGE;
    case MetricType::kHistogram:
      return pb::HISTOGRAM;
  }
  return pb::UNTYPED;
}

template <class Span>
void AddSpans(const std::vector<NativeSpan>& spans, Span* (pb::Histogram::*add)(),
              pb::Histogram* out) {
  for (const NativeSpan& s : spans) {
    auto* span = (out->*add)();
    span->set_offset(s.offset);
    span->set_length(s.length);
  }
}

void SetHistogram(const HistogramValue& h, pb::Histogram* out) {
  out->set_sample_count(h.count);
  out->set_sample_sum(h.sum);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size() && i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    pb::Bucket* bucket = out->add_bucket();
    bucket->set_cumulative_count(cumulative);
    bucket->set_upper_bound(h.bounds[i]);
  }
  if (!h.exponential) return;
  const NativeHistogram n = ToNative(h);
  out->set_schema(n.schema);
  out->set_zero_threshold(n.zero_threshold);
  out->set_zero_count(n.zero_count);
  AddSpans(n.negative_spans, &pb::Histogram::add_negative_span, out);
  for (int64_t d : n.negative_deltas) out->add_negative_delta(d);
  AddSpans(n.positive_spans, &pb::Histogram::add_positive_span, out);
  for (int64_t d : n.positive_deltas) out->add_positive_delta(d);
  // Prometheus takes a histogram for a native one when it has a bucket or a zero
  // bucket; an empty one with a zero threshold of 0 gets an empty span to say so.
  if (n.positive_spans.empty() && n.negative_spans.empty() && n.zero_threshold == 0 &&
      n.zero_count == 0) {
    out->add_positive_span()->set_length(0);
  }
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::string ToProtobuf(const Snapshot& snap) {
  std::string out;
  pb::MetricFamily family;  // reused: Clear() keeps its messages for reuse
  common::ForEachFamily(snap, common::TextFormat::kPrometheus, [&](const common::FamilyView& f) {
    family.Clear();
    family.set_name(f.name);
    family.set_help(f.help.empty() ? "(no help text)" : f.help);
    family.set_type(TypeOf(f.type));
    for (const MetricSnapshot* m : f.series) {
      pb::Metric* metric = family.add_metric();
      for (const auto& [k, v] : m->labels) {
        pb::LabelPair* label = metric->add_label();
        label->set_name(k);
        label->set_value(v);
      }
      switch (f.type) {
        case MetricType::kCounter:
          metric->mutable_counter()->set_value(CounterValue(*m));
          break;
        case MetricType::kGauge:
          metric->mutable_gauge()->set_value(m->gauge);
          break;
        case MetricType::kHistogram:
          SetHistogram(m->histogram, metric->mutable_histogram());
          break;
      }
    }
    AppendVarint(&out, family.ByteSizeLong());
    family.AppendToString(&out);
  });
  return out;
}

}  // namespace shmstats::daemon
