#include "history_query.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "common/exposition.h"
#include "history_time.h"
#include "shmstats/error.h"
#include "sqlite_db.h"

namespace shmstats::history {
namespace {

int64_t FloorTo(int64_t v, int64_t step) { return (v >= 0 ? v : v - step + 1) / step * step; }

// The point a sample at ts_ms (end of its interval) belongs to.
HistoryPoint& PointFor(std::map<int64_t, HistoryPoint>& points, const SeriesInfo& s, int64_t ts_ms,
                       int64_t step_ms) {
  int64_t start = FloorTo(ts_ms - 1, step_ms);
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

HistoryReader::HistoryReader(const std::string& path)
    : db_(std::make_unique<Db>(path, Db::Mode::kReadOnly)) {
  CheckSchema(*db_);
}

HistoryReader::~HistoryReader() = default;

void ValidateRange(const QueryRange& r) {
  if (r.from_ms > r.to_ms) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid range: from ({}) is after to ({})", FormatRfc3339(r.from_ms),
                            FormatRfc3339(r.to_ms)));
  }
  if ((r.to_ms - r.from_ms) / r.step_ms + 1 > kMaxPoints) {
    throw Error(
        Errc::kInvalidArgument,
        fmt::format("range too long for step: more than {} points; use a larger step", kMaxPoints));
  }
}

std::vector<SeriesHistory> HistoryReader::Query(const common::Selector& selector,
                                                const QueryRange& range) {
  ValidateRange(range);
  const int64_t first = FloorTo(range.from_ms, range.step_ms);
  const int64_t end = FloorTo(range.to_ms, range.step_ms) + range.step_ms;
  const int64_t pruned_until = GetMeta(*db_, "raw_pruned_until_ms", INT64_MIN);
  const bool use_rollups = range.step_ms % kHourMs == 0 && pruned_until > first;

  Stmt raw = db_->Prepare(
      "SELECT t.ts_ms, t.interval_ms, s.v FROM ticks t CROSS JOIN samples s "
      "ON s.tick = t.id AND s.series = ?1 WHERE t.ts_ms > ?2 AND t.ts_ms <= ?3 "
      "ORDER BY t.ts_ms");
  Stmt rolled = db_->Prepare(
      "SELECT h.hour, r.n, r.ms, r.v, r.mn, r.mx, r.sm FROM rollup_hours h CROSS JOIN rollups r "
      "ON r.hour = h.hour AND r.series = ?1 WHERE h.hour >= ?2 AND h.hour < ?3 ORDER BY h.hour");

  std::vector<SeriesHistory> out;
  for (auto& s : LoadSeries(*db_)) {
    if (!selector.Matches(s.metric)) continue;
    std::map<int64_t, HistoryPoint> points;
    if (use_rollups) {
      rolled.Bind(1, s.id).Bind(2, first / kHourMs).Bind(3, std::min(end, pruned_until) / kHourMs);
      while (rolled.Step()) {
        PointFor(points, s, (rolled.Int(0) + 1) * kHourMs, range.step_ms).acc.AddRollup(rolled, 1);
      }
      rolled.Reset();
    }
    raw.Bind(1, s.id).Bind(2, std::max(first, pruned_until)).Bind(3, end);
    while (raw.Step()) {
      PointFor(points, s, raw.Int(0), range.step_ms).acc.AddRaw(raw, 2, raw.Int(1));
    }
    raw.Reset();
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
  h.precision_bits = s.metric.histogram.precision_bits;
  h.counts = a.counts;
  h.sum = a.sum;
  h.count = a.Count();
  return h;
}

nlohmann::json HistoryToJson(const std::vector<SeriesHistory>& result, const QueryRange& range) {
  nlohmann::json series = nlohmann::json::array();
  for (const auto& sh : result) {
    const auto& m = sh.series.metric;
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : sh.points) {
      nlohmann::json j = {{"t", FormatRfc3339(p.start_ms)},
                          {"timestamp", p.start_ms / 1000},
                          {"samples", p.acc.samples}};
      switch (m.type) {
        case MetricType::kCounter:
          j["increase"] = p.acc.increase;
          j["rate"] = nlohmann::json(PointRate(p.acc));
          break;
        case MetricType::kGauge:
          j["min"] = nlohmann::json(p.acc.min);
          j["avg"] = nlohmann::json(p.acc.sum / static_cast<double>(p.acc.samples));
          j["max"] = nlohmann::json(p.acc.max);
          j["last"] = nlohmann::json(p.acc.last);
          break;
        case MetricType::kHistogram: {
          HistogramValue h = PointHistogram(sh.series, p.acc);
          j["count"] = h.count;
          j["sum"] = nlohmann::json(h.sum);
          j["mean"] = nlohmann::json(h.count ? h.sum / static_cast<double>(h.count) : NAN);
          j["p50"] = nlohmann::json(Quantile(h, 0.5));
          j["p90"] = nlohmann::json(Quantile(h, 0.9));
          j["p99"] = nlohmann::json(Quantile(h, 0.99));
          break;
        }
      }
      points.push_back(std::move(j));
    }
    series.push_back({{"name", m.name},
                      {"labels", common::LabelsJson(m.labels)},
                      {"type", std::string(TypeName(m.type))},
                      {"help", m.help},
                      {"unit", m.unit},
                      {"points", std::move(points)}});
  }
  return {{"version", 1},
          {"from", FormatRfc3339(range.from_ms)},
          {"to", FormatRfc3339(range.to_ms)},
          {"step_seconds", range.step_ms / 1000},
          {"series", std::move(series)}};
}

std::string HistoryToCsv(const std::vector<SeriesHistory>& result, const QueryRange&) {
  std::string out = "time,name,labels,type,increase,rate,min,avg,max,last,count,sum,p50,p90,p99\n";
  for (const auto& sh : result) {
    const auto& m = sh.series.metric;
    std::string prefix =
        fmt::format(",{},{},{},", m.name, CsvField(common::LabelsText(m.labels)), TypeName(m.type));
    for (const auto& p : sh.points) {
      out += FormatRfc3339(p.start_ms) + prefix;
      const Accum& a = p.acc;
      switch (m.type) {
        case MetricType::kCounter:
          out += fmt::format("{},{},,,,,,,,,\n", a.increase, CsvCell(PointRate(a)));
          break;
        case MetricType::kGauge:
          out += fmt::format(",,{},{},{},{},,,,,\n", CsvCell(a.min),
                             CsvCell(a.sum / static_cast<double>(a.samples)), CsvCell(a.max),
                             CsvCell(a.last));
          break;
        case MetricType::kHistogram: {
          HistogramValue h = PointHistogram(sh.series, a);
          out += fmt::format(",,,,,,{},{},{},{},{}\n", h.count, CsvCell(h.sum),
                             CsvCell(Quantile(h, 0.5)), CsvCell(Quantile(h, 0.9)),
                             CsvCell(Quantile(h, 0.99)));
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace shmstats::history
