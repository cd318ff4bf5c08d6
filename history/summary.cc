// SPDX-License-Identifier: Apache-2.0
#include "history/summary.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <regex>

#include "common/exposition.h"
#include "history/codec.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::history {
namespace {

// The value of the grouping label of a series ("" when it has none).
std::string GroupValue(const SeriesInfo& s, const std::string& by) {
  if (by == "instance" && !s.instance.empty()) return s.instance;
  for (const auto& [k, v] : s.metric.labels) {
    if (k == by) return v;
  }
  return "";
}

void CheckBy(const std::string& by) {
  static const std::regex kLabel("[a-zA-Z_][a-zA-Z0-9_]*");
  if (!by.empty() && (by.size() > 128 || !std::regex_match(by, kLabel))) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid --by '{}': use a label name (e.g. tool) or instance",
                            by.substr(0, 64)));
  }
}

}  // namespace

std::vector<SummaryRow> Summarize(HistoryReader& reader, const common::Selector& selector,
                                  const SummaryRequest& request) {
  CheckBy(request.by);
  if (request.from_ms >= request.to_ms) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid range: from ({}) must be before to ({})",
                            FormatRfc3339(request.from_ms), FormatRfc3339(request.to_ms)));
  }
  // One step that is the whole range: (from, to].
  auto per_series =
      reader.QuerySteps(selector, request.from_ms, request.to_ms, request.to_ms - request.from_ms);
  std::vector<SummaryRow> rows;
  std::map<std::string, size_t> groups;  // family key + group value -> row
  for (auto& sh : per_series) {
    if (sh.points.empty()) continue;
    const Accum& a = sh.points.front().acc;
    const double rate = PointRate(a);
    if (request.by.empty()) {
      rows.push_back({std::move(sh.series), 1, a, rate});
      continue;
    }
    std::string value = GroupValue(sh.series, request.by);
    MetricSnapshot family = sh.series.metric;
    family.labels.clear();
    std::string key = SeriesKey(family) + '\0' + value;
    auto [it, fresh] = groups.try_emplace(key, rows.size());
    if (fresh) {
      SummaryRow row{sh.series, 1, a, rate};
      row.series.id = 0;
      row.series.instance = request.by == "instance" ? value : "";
      row.series.metric.labels.clear();
      if (request.by != "instance") row.series.metric.labels.emplace_back(request.by, value);
      rows.push_back(std::move(row));
      continue;
    }
    SummaryRow& row = rows[it->second];
    ++row.members;
    const double last = row.acc.last + a.last;
    row.acc.Merge(a);
    if (a.type == MetricType::kGauge) row.acc.last = last;
    if (std::isnan(row.rate)) {
      row.rate = rate;
    } else if (!std::isnan(rate)) {
      row.rate += rate;
    }
  }
  return rows;
}

nlohmann::json SummaryToJson(const std::vector<SummaryRow>& rows, const SummaryRequest& request) {
  nlohmann::json series = nlohmann::json::array();
  for (const SummaryRow& row : rows) {
    nlohmann::json j = SeriesJson(row.series);
    j["members"] = row.members;
    j["samples"] = row.acc.samples;
    AddValueFields(j, row.series, row.acc, row.rate);
    series.push_back(std::move(j));
  }
  return {{"version", 1},
          {"from", FormatRfc3339(request.from_ms)},
          {"to", FormatRfc3339(request.to_ms)},
          {"by", request.by.empty() ? nlohmann::json(nullptr) : nlohmann::json(request.by)},
          {"series", std::move(series)}};
}

std::string SummaryToCsv(const std::vector<SummaryRow>& rows) {
  std::string out =
      "name,labels,instance,type,members,samples,increase,rate,min,avg,max,last,count,sum,mean,"
      "p50,p90,p99\n";
  for (const SummaryRow& row : rows) {
    const auto& m = row.series.metric;
    const Accum& a = row.acc;
    out += fmt::format("{},{},{},{},{},{},", common::SeriesName(m),
                       CsvField(common::LabelsText(m.labels)), CsvField(row.series.instance),
                       TypeName(m.type), row.members, a.samples);
    AppendCsvValues(&out, row.series, a, row.rate, /*with_mean=*/true);
  }
  return out;
}

}  // namespace shmstats::history
