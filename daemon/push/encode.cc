// SPDX-License-Identifier: Apache-2.0
#include "daemon/push/encode.h"

#include <snappy.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "common/exposition.h"
#include "daemon/native_histogram.h"
#include "daemon/push/remote_write.pb.h"

namespace shmstats::daemon {
namespace {

// Counters, buckets and sums plus what resets have taken: never lower.
void MakeCumulative(Snapshot& snap) {
  for (MetricSnapshot& m : snap.metrics) {
    m.counter += m.counter_reset_total;
    m.counter_double += m.counter_double_reset_total;
    HistogramValue& h = m.histogram;
    for (size_t b = 0; b < h.counts.size() && b < h.reset_counts.size(); ++b) {
      h.counts[b] += h.reset_counts[b];
    }
    h.sum += h.reset_sum;
  }
}

remote_write::MetricMetadata::MetricType WireType(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return remote_write::MetricMetadata::COUNTER;
    case MetricType::kGauge:
      return remote_write::MetricMetadata::GAUGE;
    case MetricType::kHistogram:
      return remote_write::MetricMetadata::HISTOGRAM;
  }
  return remote_write::MetricMetadata::UNKNOWN;
}

// One entry per family (a family's series share its type, help and unit).
void AddMetadata(const Snapshot& snap, remote_write::WriteRequest& request) {
  std::vector<const MetricSnapshot*> families;
  families.reserve(snap.metrics.size());
  for (const MetricSnapshot& m : snap.metrics) families.push_back(&m);
  std::stable_sort(families.begin(), families.end(),
                   [](const auto* a, const auto* b) { return a->name < b->name; });
  std::string last;
  for (const MetricSnapshot* m : families) {
    std::string name = common::FamilyName(*m, common::TextFormat::kPrometheus);
    if (name == last) continue;
    remote_write::MetricMetadata* meta = request.add_metadata();
    meta->set_type(WireType(m->type));
    meta->set_metric_family_name(name);
    meta->set_help(m->help);
    meta->set_unit(m->unit);
    last = std::move(name);
  }
}

template <class Span>
void AddSpans(const std::vector<NativeSpan>& spans, google::protobuf::RepeatedPtrField<Span>* out) {
  for (const NativeSpan& s : spans) {
    Span* span = out->Add();
    span->set_offset(s.offset);
    span->set_length(s.length);
  }
}

void SetNative(const NativeHistogram& n, int64_t unix_ms, remote_write::Histogram* out) {
  out->set_count_int(n.count);
  out->set_sum(n.sum);
  out->set_schema(n.schema);
  out->set_zero_threshold(n.zero_threshold);
  out->set_zero_count_int(n.zero_count);
  AddSpans(n.negative_spans, out->mutable_negative_spans());
  out->mutable_negative_deltas()->Add(n.negative_deltas.begin(), n.negative_deltas.end());
  AddSpans(n.positive_spans, out->mutable_positive_spans());
  out->mutable_positive_deltas()->Add(n.positive_deltas.begin(), n.positive_deltas.end());
  out->set_timestamp(unix_ms);
}

}  // namespace

std::vector<RemoteWriteBatch> EncodeRemoteWrite(Snapshot snap, int64_t unix_ms,
                                                const RemoteWriteTarget& target, size_t max_samples,
                                                bool classic_histograms) {
  MakeCumulative(snap);
  std::vector<RemoteWriteBatch> out;
  remote_write::WriteRequest request;  // reused: Clear() keeps its messages for reuse
  AddMetadata(snap, request);
  std::string raw;
  size_t samples = 0;
  auto flush = [&] {
    request.SerializeToString(&raw);
    RemoteWriteBatch& batch = out.emplace_back();
    snappy::Compress(raw.data(), raw.size(), &batch.body);
    batch.samples = samples;
    batch.unix_ms = unix_ms;
    request.Clear();
    samples = 0;
  };
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  // A new series in `request` named `name` with the series' own labels and `le`.
  auto add_series = [&](std::string_view name, const Labels& own, const std::string* le) {
    labels.clear();
    labels.emplace_back("__name__", name);
    for (const auto& [k, v] : own) {
      labels.emplace_back(k == "instance" ? std::string_view("exported_instance")
                          : k == "job"    ? std::string_view("exported_job")
                                          : std::string_view(k),
                          v);
    }
    labels.emplace_back("instance", target.instance);
    if (!target.job.empty()) labels.emplace_back("job", target.job);
    if (le) labels.emplace_back("le", *le);
    std::stable_sort(labels.begin(), labels.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // Names are unique on the wire: the first of equal names wins.
    labels.erase(std::unique(labels.begin(), labels.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 labels.end());
    remote_write::TimeSeries* series = request.add_timeseries();
    for (const auto& [k, v] : labels) {
      remote_write::Label* label = series->add_labels();
      label->set_name(k.data(), k.size());
      label->set_value(v.data(), v.size());
    }
    return series;
  };
  auto sample = [&](std::string_view name, const Labels& own, const std::string* le, double value) {
    remote_write::Sample* sample = add_series(name, own, le)->add_samples();
    sample->set_value(value);
    sample->set_timestamp(unix_ms);
    if (++samples == max_samples) flush();
  };
  const auto format = common::TextFormat::kPrometheus;
  common::ForEachFamily(snap, format, [&](const common::FamilyView& f) {
    for (const MetricSnapshot* m : f.series) {
      if (classic_histograms || !m->histogram.exponential) {
        common::ForEachSampleOf(f, *m, format, sample);
        continue;
      }
      SetNative(ToNative(m->histogram), unix_ms,
                add_series(f.name, m->labels, nullptr)->add_histograms());
      if (++samples == max_samples) flush();
    }
  });
  if (samples > 0) flush();
  return out;
}

size_t RemoteWriteSamples(const Snapshot& snap, bool classic_histograms) {
  size_t n = 0;
  for (const MetricSnapshot& m : snap.metrics) {
    bool classic =
        m.type == MetricType::kHistogram && (classic_histograms || !m.histogram.exponential);
    n += classic ? std::max<size_t>(m.histogram.counts.size(), 1) + 2 : 1;
  }
  return n;
}

}  // namespace shmstats::daemon
