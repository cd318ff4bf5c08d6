// SPDX-License-Identifier: Apache-2.0
#include "history/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "common/exposition.h"
#include "history/query.h"
#include "history/store.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::history {
namespace {

std::string LabelsWithLe(const Labels& labels, const std::string& le) {
  std::string out;
  common::AppendLabels(&out, labels, &le);
  return out;
}

std::string Seconds(int64_t ms) { return fmt::format("{}.{:03}", ms / 1000, ms % 1000); }

void ExportFlat(HistoryReader& reader, const common::Selector& selector, int64_t from_ms,
                int64_t to_ms, bool json, std::ostream& out) {
  std::unordered_map<int64_t, SeriesInfo> series;
  for (auto& s : reader.store().Series()) {
    if (MatchesSeries(selector, s)) series.emplace(s.id, std::move(s));
  }
  if (json) {
    out << fmt::format("{{\"version\":1,\"from\":\"{}\",\"to\":\"{}\",\"samples\":[",
                       FormatRfc3339(from_ms), FormatRfc3339(to_ms));
  } else {
    out << "time,name,labels,instance,type,value,rate,count,sum,p50,p90,p99\n";
  }
  bool first = true;
  reader.store().ScanTicks(
      from_ms, to_ms, [&](int64_t ts_ms, int64_t interval_ms, int64_t id, const StoredValue& v) {
        auto it = series.find(id);
        if (it == series.end()) return;
        const SeriesInfo& s = it->second;
        Accum a;
        a.Init(s.metric.type, s.Buckets());
        if (!a.Add(v, interval_ms)) return;
        HistogramValue h = PointHistogram(s, a);
        double value = s.metric.type == MetricType::kCounter ? static_cast<double>(a.increase)
                       : s.metric.type == MetricType::kGauge ? a.last
                                                             : NAN;
        if (json) {
          nlohmann::json j = {{"t", FormatRfc3339(ts_ms)},
                              {"timestamp", static_cast<double>(ts_ms) / 1000.0},
                              {"name", common::SeriesName(s.metric)},
                              {"labels", common::LabelsJson(s.metric.labels)}};
          if (!s.instance.empty()) j["instance"] = s.instance;
          j["type"] = std::string(TypeName(s.metric.type));
          if (s.metric.type == MetricType::kCounter) {
            j["value"] = a.increase;
            j["rate"] = PointRate(a);  // NaN and infinities are written as null
          } else if (s.metric.type == MetricType::kGauge) {
            j["value"] = value;
          } else {
            j["count"] = h.count;
            j["sum"] = h.sum;
            j["p50"] = Quantile(h, 0.5);
            j["p90"] = Quantile(h, 0.9);
            j["p99"] = Quantile(h, 0.99);
          }
          out << (first ? "" : ",") << j.dump();
        } else {
          std::string labels =
              CsvField(common::LabelsText(s.metric.labels)) + "," + CsvField(s.instance);
          if (s.metric.type == MetricType::kHistogram) {
            out << fmt::format("{},{},{},histogram,,,{},{},{},{},{}\n", FormatRfc3339(ts_ms),
                               common::SeriesName(s.metric), labels, h.count, CsvCell(h.sum),
                               CsvCell(Quantile(h, 0.5)), CsvCell(Quantile(h, 0.9)),
                               CsvCell(Quantile(h, 0.99)));
          } else {
            bool counter = s.metric.type == MetricType::kCounter;
            out << fmt::format("{},{},{},{},{},{},,,,,\n", FormatRfc3339(ts_ms),
                               common::SeriesName(s.metric), labels, TypeName(s.metric.type),
                               counter ? std::to_string(a.increase) : CsvValue(value),
                               counter ? CsvCell(PointRate(a)) : "");
          }
        }
        first = false;
      });
  if (json) out << "]}\n";
}

// The lines of one exported histogram, whose ticks may come from series with other
// bounds (a store written before native buckets holds the same name and labels with
// log-linear ones; a registration may change its buckets): each `le` line counts, from
// the range's start, the observations at most le in the ticks of the series that have
// that bound, so every line is a counter that never drops; _count, _sum and +Inf count
// every tick. With one series these are its plain running totals.
class HistogramLines {
 public:
  HistogramLines(const std::vector<const SeriesInfo*>& group, std::string family, Labels labels)
      : family_(std::move(family)), labels_(std::move(labels)) {
    for (const SeriesInfo* s : group)
      bounds_.insert(bounds_.end(), s->metric.histogram.bounds.begin(),
                     s->metric.histogram.bounds.end());
    std::sort(bounds_.begin(), bounds_.end());
    bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
    totals_.assign(bounds_.size(), 0);
    for (const SeriesInfo* s : group) {
      std::vector<size_t>& slots = slots_.emplace_back();
      for (double b : s->metric.histogram.bounds)
        slots.push_back(std::lower_bound(bounds_.begin(), bounds_.end(), b) - bounds_.begin());
    }
  }

  // One tick of group[series]: its delta buckets and sum in `tick`.
  void Emit(std::ostream& out, int64_t ts_ms, size_t series, const Accum& tick) {
    const std::string ts = Seconds(ts_ms);
    const std::vector<size_t>& slots = slots_[series];
    uint64_t at_most = 0;
    for (size_t i = 0; i < slots.size(); ++i) {
      at_most += tick.counts[i];
      totals_[slots[i]] += at_most;
      out << family_ << "_bucket" << LabelsWithLe(labels_, common::FormatBound(bounds_[slots[i]]))
          << ' ' << totals_[slots[i]] << ' ' << ts << '\n';
    }
    count_ += at_most + tick.counts.back();
    sum_ += tick.sum;
    out << family_ << "_bucket" << LabelsWithLe(labels_, "+Inf") << ' ' << count_ << ' ' << ts
        << '\n';
    out << family_ << "_count" << common::LabelsText(labels_) << ' ' << count_ << ' ' << ts << '\n';
    out << family_ << "_sum" << common::LabelsText(labels_) << ' ' << common::FormatDouble(sum_)
        << ' ' << ts << '\n';
  }

 private:
  std::string family_;
  Labels labels_;
  std::vector<double> bounds_;              // every series' bounds, sorted, once each
  std::vector<std::vector<size_t>> slots_;  // per series: its bounds' places in bounds_
  std::vector<uint64_t> totals_;            // per bound: observations at most it so far
  uint64_t count_ = 0;
  double sum_ = 0;
};

// A histogram's ticks from every series of its group, in time order; a tick of a
// second series at a timestamp already written is left out (the first one wins).
void ExportHistogram(Store& store, const std::vector<const SeriesInfo*>& group,
                     const std::string& family, const Labels& labels, int64_t from_ms,
                     int64_t to_ms, std::ostream& out) {
  HistogramLines lines(group, family, labels);
  auto accum = [](const SeriesInfo& s, const StoredValue& v, int64_t interval_ms) {
    Accum a;
    a.Init(MetricType::kHistogram, s.Buckets());
    return a.Add(v, interval_ms) ? std::optional<Accum>(std::move(a)) : std::nullopt;
  };
  if (group.size() == 1) {  // streamed: a store's usual case
    store.ScanRaw(*group[0], from_ms - 1, to_ms,
                  [&](int64_t ts_ms, int64_t interval_ms, const StoredValue& v) {
                    if (auto a = accum(*group[0], v, interval_ms)) lines.Emit(out, ts_ms, 0, *a);
                  });
    return;
  }
  struct Tick {
    int64_t ts_ms;
    size_t series;
    Accum value;
  };
  std::vector<Tick> ticks;
  for (size_t i = 0; i < group.size(); ++i) {
    store.ScanRaw(*group[i], from_ms - 1, to_ms,
                  [&](int64_t ts_ms, int64_t interval_ms, const StoredValue& v) {
                    if (auto a = accum(*group[i], v, interval_ms))
                      ticks.push_back({ts_ms, i, std::move(*a)});
                  });
  }
  std::stable_sort(ticks.begin(), ticks.end(),
                   [](const Tick& a, const Tick& b) { return a.ts_ms < b.ts_ms; });
  for (size_t t = 0; t < ticks.size(); ++t) {
    if (t > 0 && ticks[t].ts_ms == ticks[t - 1].ts_ms) continue;
    lines.Emit(out, ticks[t].ts_ms, ticks[t].series, ticks[t].value);
  }
}

// OpenMetrics needs every family's samples together, so this walks series by
// series, grouped by family (a counter's family drops "_total"), and reads each
// one's ticks. The series of a family with one label set (with the instance) are
// one metric: a histogram's series with other bounds are its ticks too
// (HistogramLines); of counters and gauges, and of a family seen with a second
// type, the first one wins.
void ExportOpenMetrics(HistoryReader& reader, const common::Selector& selector, int64_t from_ms,
                       int64_t to_ms, std::ostream& out) {
  std::vector<SeriesInfo> all = reader.store().Series();
  struct Metric {
    std::string family;
    Labels labels;  // with the instance
    std::vector<const SeriesInfo*> series;
  };
  std::vector<Metric> metrics;
  std::unordered_map<std::string, size_t> by_key;  // family and labels
  std::unordered_map<std::string, MetricType> family_types;
  for (const SeriesInfo& s : all) {
    if (!MatchesSeries(selector, s)) continue;
    std::string family = common::FamilyName(s.metric, common::TextFormat::kOpenMetrics);
    auto [known, _] = family_types.try_emplace(family, s.metric.type);
    if (known->second != s.metric.type) continue;
    // With the instance that wrote it: a fleet's database holds the same series from
    // many daemons, and each is its own series in Prometheus.
    Labels labels = LabelsWithInstance(s);
    auto [at, fresh] = by_key.try_emplace(common::SeriesKey(family, labels), metrics.size());
    if (fresh)
      metrics.push_back({std::move(family), std::move(labels), {}});
    else if (s.metric.type != MetricType::kHistogram)
      continue;
    metrics[at->second].series.push_back(&s);
  }
  std::stable_sort(metrics.begin(), metrics.end(), [](const Metric& a, const Metric& b) {
    return a.family < b.family;  // LoadSeries' order (name, type, labels) within
  });
  std::string last_family;
  for (const Metric& metric : metrics) {
    const std::string& family = metric.family;
    const Labels& labels = metric.labels;
    const SeriesInfo& s = *metric.series.front();
    const auto& m = s.metric;
    if (family != last_family) {
      last_family = family;
      out << "# TYPE " << family << ' ' << TypeName(m.type) << '\n';
      if (!m.help.empty()) {
        std::string help;
        common::AppendEscaped(&help, m.help, true);
        out << "# HELP " << family << ' ' << help << '\n';
      }
      // As in /metrics: OpenMetrics wants the unit as the family name's suffix.
      if (!m.unit.empty() && family.ends_with("_" + m.unit))
        out << "# UNIT " << family << ' ' << m.unit << '\n';
    }
    if (m.type == MetricType::kHistogram) {
      ExportHistogram(reader.store(), metric.series, family, labels, from_ms, to_ms, out);
      continue;
    }
    Accum total;
    total.Init(m.type, s.Buckets());
    reader.store().ScanRaw(s, from_ms - 1, to_ms,
                           [&](int64_t ts_ms, int64_t interval_ms, const StoredValue& v) {
                             if (!total.Add(v, interval_ms)) return;
                             std::string ts = Seconds(ts_ms);
                             if (m.type == MetricType::kCounter) {
                               out << family << "_total" << common::LabelsText(labels) << ' '
                                   << total.increase << ' ' << ts << '\n';
                             } else {
                               out << family << common::LabelsText(labels) << ' '
                                   << common::FormatDouble(total.last) << ' ' << ts << '\n';
                             }
                           });
  }
  out << "# EOF\n";
}

}  // namespace

ExportFormat ParseExportFormat(std::string_view text) {
  if (text == "csv") return ExportFormat::kCsv;
  if (text == "json") return ExportFormat::kJson;
  if (text == "openmetrics") return ExportFormat::kOpenMetrics;
  throw Error(Errc::kInvalidArgument,
              fmt::format("invalid format '{}': use csv, json or openmetrics", text.substr(0, 64)));
}

void Export(HistoryReader& reader, const common::Selector& selector, int64_t from_ms, int64_t to_ms,
            ExportFormat format, std::ostream& out) {
  if (from_ms > to_ms) {
    throw Error(Errc::kInvalidArgument, "invalid range: from is after to");
  }
  if (format == ExportFormat::kOpenMetrics) {
    ExportOpenMetrics(reader, selector, from_ms, to_ms, out);
  } else {
    ExportFlat(reader, selector, from_ms, to_ms, format == ExportFormat::kJson, out);
  }
}

}  // namespace shmstats::history
