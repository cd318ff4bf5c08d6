// SPDX-License-Identifier: Apache-2.0
#include "history/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

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

// OpenMetrics needs every family's samples together, so this walks series by
// series, grouped by family (a counter's family drops "_total"), and reads each
// one's ticks. A family seen with a second type, or a label set (with the instance)
// seen twice in a family (the same series with other buckets), is left out: the
// first one wins.
void ExportOpenMetrics(HistoryReader& reader, const common::Selector& selector, int64_t from_ms,
                       int64_t to_ms, std::ostream& out) {
  std::vector<SeriesInfo> all = reader.store().Series();
  struct Entry {
    std::string family;
    const SeriesInfo* series;
  };
  std::vector<Entry> entries;
  for (const SeriesInfo& s : all) {
    if (!MatchesSeries(selector, s)) continue;
    entries.push_back({common::FamilyName(s.metric, common::TextFormat::kOpenMetrics), &s});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.family < b.family;  // LoadSeries' order (name, type, labels) within
  });
  std::unordered_map<std::string, MetricType> family_types;
  std::unordered_set<std::string> exported;  // family and labels
  for (const auto& [family, series] : entries) {
    const SeriesInfo& s = *series;
    const auto& m = s.metric;
    // With the instance that wrote it: a fleet's database holds the same series from
    // many daemons, and each is its own series in Prometheus.
    const Labels labels = LabelsWithInstance(s);
    auto [known, new_family] = family_types.try_emplace(family, m.type);
    if (known->second != m.type || !exported.insert(common::SeriesKey(family, labels)).second) {
      continue;
    }
    if (new_family) {
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
    Accum total;
    total.Init(m.type, s.Buckets());
    reader.store().ScanRaw(s, from_ms - 1, to_ms,
                           [&](int64_t ts_ms, int64_t interval_ms, const StoredValue& v) {
                             if (!total.Add(v, interval_ms)) return;
                             std::string ts = Seconds(ts_ms);
                             if (m.type == MetricType::kCounter) {
                               out << family << "_total" << common::LabelsText(labels) << ' '
                                   << total.increase << ' ' << ts << '\n';
                             } else if (m.type == MetricType::kGauge) {
                               out << family << common::LabelsText(labels) << ' '
                                   << common::FormatDouble(total.last) << ' ' << ts << '\n';
                             } else {
                               uint64_t cumulative = 0;
                               for (size_t i = 0; i < total.counts.size(); ++i) {
                                 cumulative += total.counts[i];
                                 std::string le = i < m.histogram.bounds.size()
                                                      ? common::FormatBound(m.histogram.bounds[i])
                                                      : "+Inf";
                                 out << family << "_bucket" << LabelsWithLe(labels, le) << ' '
                                     << cumulative << ' ' << ts << '\n';
                               }
                               out << family << "_count" << common::LabelsText(labels) << ' '
                                   << cumulative << ' ' << ts << '\n';
                               out << family << "_sum" << common::LabelsText(labels) << ' '
                                   << common::FormatDouble(total.sum) << ' ' << ts << '\n';
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
