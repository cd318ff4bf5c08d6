// SPDX-License-Identifier: Apache-2.0
#include "history/query.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/exposition.h"
#include "history/store.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::history {
namespace {

int64_t FloorTo(int64_t v, int64_t step) { return (v >= 0 ? v : v - step + 1) / step * step; }

// The point a sample at ts_ms (end of its interval) belongs to.
HistoryPoint& PointFor(std::map<int64_t, HistoryPoint>& points, const SeriesInfo& s, int64_t ts_ms,
                       int64_t first, int64_t step_ms) {
  int64_t start = first + FloorTo(ts_ms - 1 - first, step_ms);
  auto [it, fresh] = points.try_emplace(start);
  if (fresh) {
    it->second.start_ms = start;
    it->second.acc.Init(s.metric.type, s.Buckets());
  }
  return it->second;
}

}  // namespace

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string CsvCell(double v) { return std::isfinite(v) ? common::FormatDouble(v) : ""; }

std::string CsvValue(double v) { return common::FormatDouble(v); }

HistoryReader::HistoryReader(const std::string& location) : store_(OpenStore(location)) {}

HistoryReader::HistoryReader(std::unique_ptr<Store> store) : store_(std::move(store)) {}

Labels LabelsWithInstance(const SeriesInfo& s) {
  Labels labels = s.metric.labels;
  if (s.instance.empty()) return labels;
  auto at = std::lower_bound(labels.begin(), labels.end(), std::string_view("instance"),
                             [](const auto& label, std::string_view k) { return label.first < k; });
  if (at == labels.end() || at->first != "instance") labels.insert(at, {"instance", s.instance});
  return labels;
}

bool MatchesSeries(const common::Selector& selector, const SeriesInfo& s) {
  if (s.instance.empty()) return selector.Matches(s.metric);
  MetricSnapshot m;
  m.name = s.metric.name;
  m.type = s.metric.type;
  m.labels = LabelsWithInstance(s);
  return selector.Matches(m);
}

HistoryReader::~HistoryReader() = default;

QueryRange::QueryRange(int64_t from, int64_t to, int64_t step)
    : from_ms(from), to_ms(to), step_ms(step) {
  if (from_ms > to_ms) {
    throw Error(Errc::kInvalidArgument, fmt::format("invalid range: from ({}) is after to ({})",
                                                    FormatRfc3339(from_ms), FormatRfc3339(to_ms)));
  }
  if (step_ms <= 0) {
    throw Error(Errc::kInvalidArgument,
                "invalid step: it must be positive (1m, 5m, 15m, 1h, 6h, 1d)");
  }
  if ((to_ms - from_ms) / step_ms + 1 > kMaxPoints) {
    throw Error(
        Errc::kInvalidArgument,
        fmt::format("range too long for step: more than {} points; use a larger step", kMaxPoints));
  }
}

QueryRange ParseRange(std::string_view from, std::string_view to, std::string_view step,
                      int64_t now_ms) {
  const int64_t step_ms = ParseStep(step);
  const int64_t from_ms = ParseTime(from, now_ms);
  return QueryRange(from_ms, ParseTime(to, now_ms), step_ms);
}

std::vector<SeriesHistory> HistoryReader::Query(const common::Selector& selector,
                                                const QueryRange& range) {
  return QuerySteps(selector, FloorTo(range.from_ms, range.step_ms),
                    FloorTo(range.to_ms, range.step_ms) + range.step_ms, range.step_ms);
}

std::vector<SeriesHistory> HistoryReader::QuerySteps(const common::Selector& selector,
                                                     int64_t first, int64_t end, int64_t step_ms) {
  const int64_t pruned_until = store_->RawPrunedUntil();
  // Hours of rollups serve the pruned part, each where it fits inside one step.
  const bool use_rollups = pruned_until > first;
  const int64_t first_hour = first >= 0 ? (first + kHourMs - 1) / kHourMs : first / kHourMs;
  const int64_t end_hour = std::min(end, pruned_until) / kHourMs;

  std::vector<SeriesHistory> out;
  for (auto& s : store_->Series()) {
    if (!MatchesSeries(selector, s)) continue;
    std::map<int64_t, HistoryPoint> points;
    if (use_rollups) {
      store_->ScanRollups(s, first_hour, end_hour, [&](int64_t hour, const StoredRollup& r) {
        const int64_t start = hour * kHourMs, stop = start + kHourMs;
        if (start < first || stop > end) return;
        if (FloorTo(start - first, step_ms) != FloorTo(stop - 1 - first, step_ms)) return;
        PointFor(points, s, stop, first, step_ms).acc.AddRollup(r);
      });
    }
    store_->ScanRaw(s, std::max(first, pruned_until), end,
                    [&](int64_t ts_ms, int64_t interval_ms, const StoredValue& v) {
                      PointFor(points, s, ts_ms, first, step_ms).acc.Add(v, interval_ms);
                    });
    if (points.empty()) continue;
    SeriesHistory h{std::move(s), {}};
    for (auto& [start, p] : points) h.points.push_back(std::move(p));
    out.push_back(std::move(h));
  }
  return out;
}

double PointRate(const Accum& a) {
  return a.covered_ms > 0 ? static_cast<double>(a.increase) * 1000.0 / a.covered_ms : NAN;
}

HistogramValue PointHistogram(const SeriesInfo& s, const Accum& a) {
  HistogramValue h;
  h.bounds = s.metric.histogram.bounds;
  h.exponential = s.metric.histogram.exponential;
  h.schema = s.metric.histogram.schema;
  h.first_index = s.metric.histogram.first_index;
  h.zero_threshold = s.metric.histogram.zero_threshold;
  h.counts = a.counts;
  h.sum = a.sum;
  h.count = a.Count();
  return h;
}

nlohmann::json SeriesJson(const SeriesInfo& s) {
  const auto& m = s.metric;
  nlohmann::json j = {{"name", common::SeriesName(m)}, {"labels", common::LabelsJson(m.labels)}};
  if (!s.instance.empty()) j["instance"] = s.instance;
  j["type"] = std::string(TypeName(m.type));
  j["help"] = m.help;
  j["unit"] = m.unit;
  return j;
}

void AddValueFields(nlohmann::json& j, const SeriesInfo& s, const Accum& a, double rate) {
  switch (s.metric.type) {
    case MetricType::kCounter:
      j["increase"] = a.increase;
      j["rate"] = nlohmann::json(rate);
      break;
    case MetricType::kGauge:
      j["min"] = nlohmann::json(a.min);
      j["avg"] = nlohmann::json(a.Avg());
      j["max"] = nlohmann::json(a.max);
      j["last"] = nlohmann::json(a.last);
      break;
    case MetricType::kHistogram: {
      HistogramValue h = PointHistogram(s, a);
      j["count"] = h.count;
      j["sum"] = nlohmann::json(h.sum);
      j["mean"] = nlohmann::json(h.count ? h.sum / static_cast<double>(h.count) : NAN);
      j["p50"] = nlohmann::json(Quantile(h, 0.5));
      j["p90"] = nlohmann::json(Quantile(h, 0.9));
      j["p99"] = nlohmann::json(Quantile(h, 0.99));
      break;
    }
  }
}

nlohmann::json HistoryToJson(const std::vector<SeriesHistory>& result, const QueryRange& range) {
  nlohmann::json series = nlohmann::json::array();
  for (const auto& sh : result) {
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : sh.points) {
      nlohmann::json j = {{"t", FormatRfc3339(p.start_ms)},
                          {"timestamp", p.start_ms / 1000},
                          {"samples", p.acc.samples}};
      AddValueFields(j, sh.series, p.acc, PointRate(p.acc));
      points.push_back(std::move(j));
    }
    nlohmann::json j = SeriesJson(sh.series);
    j["points"] = std::move(points);
    series.push_back(std::move(j));
  }
  return {{"version", 1},
          {"from", FormatRfc3339(range.from_ms)},
          {"to", FormatRfc3339(range.to_ms)},
          {"step_seconds", range.step_ms / 1000},
          {"series", std::move(series)}};
}

void AppendCsvValues(std::string* out, const SeriesInfo& s, const Accum& a, double rate,
                     bool with_mean) {
  const size_t mean = with_mean ? 1 : 0;
  switch (s.metric.type) {
    case MetricType::kCounter:
      *out += fmt::format("{},{}", a.increase, CsvCell(rate));
      out->append(9 + mean, ',');
      break;
    case MetricType::kGauge:
      *out += fmt::format(",,{},{},{},{}", CsvValue(a.min), CsvValue(a.Avg()), CsvValue(a.max),
                          CsvValue(a.last));
      out->append(5 + mean, ',');
      break;
    case MetricType::kHistogram: {
      HistogramValue h = PointHistogram(s, a);
      *out += fmt::format(",,,,,,{},{},", h.count, CsvCell(h.sum));
      if (with_mean) *out += CsvCell(h.count ? h.sum / static_cast<double>(h.count) : NAN) + ",";
      *out += fmt::format("{},{},{}", CsvCell(Quantile(h, 0.5)), CsvCell(Quantile(h, 0.9)),
                          CsvCell(Quantile(h, 0.99)));
      break;
    }
  }
  *out += '\n';
}

std::string HistoryToCsv(const std::vector<SeriesHistory>& result, const QueryRange&) {
  std::string out = "time,name,labels,type,increase,rate,min,avg,max,last,count,sum,p50,p90,p99\n";
  for (const auto& sh : result) {
    const auto& m = sh.series.metric;
    std::string prefix = fmt::format(",{},{},{},", common::SeriesName(m),
                                     CsvField(common::LabelsText(m.labels)), TypeName(m.type));
    for (const auto& p : sh.points) {
      out += FormatRfc3339(p.start_ms) + prefix;
      AppendCsvValues(&out, sh.series, p.acc, PointRate(p.acc), /*with_mean=*/false);
    }
  }
  return out;
}

}  // namespace shmstats::history
