#include "parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "exposition.h"

namespace shmstats::statsctl {

double ParseNumber(std::string_view text, std::string_view what) {
  std::string_view t = text;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  bool nonfinite = ec == std::errc() && !std::isfinite(v);
  if (nonfinite)
    throw CommandError(Exit::kUsage, fmt::format("{} '{}' is not finite: give a finite number "
                                                 "such as 1.5 or -2e3 (NaN and infinities are "
                                                 "refused)",
                                                 what, text));
  if (ec == std::errc::result_out_of_range)
    throw CommandError(
        Exit::kUsage,
        fmt::format("{} '{}' is out of range for a double: give a finite number", what, text));
  if (ec != std::errc() || end != t.data() + t.size() || t.empty())
    throw CommandError(Exit::kUsage, fmt::format("{} '{}' is not a number: write a decimal "
                                                 "number with a '.' such as 1.5 or -2e3",
                                                 what, text));
  return v;
}

uint64_t ParseIncrement(std::string_view text) {
  if (!text.empty() && text[0] == '-')
    throw CommandError(Exit::kUsage,
                       fmt::format("negative counter increment '{}': counters only go up; use a "
                                   "gauge (statsctl add NAME DELTA) for values that go down",
                                   text));
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range)
    throw CommandError(Exit::kUsage,
                       fmt::format("increment '{}' is above 2^64-1: give a smaller count", text));
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw CommandError(Exit::kUsage,
                       fmt::format("increment '{}' is not a whole number: give a count such as 1 "
                                   "or 250",
                                   text));
  return n;
}

Series ParseSeries(std::string_view text) {
  common::Selector sel;
  try {
    // The name first, so that a bad one gets the naming rule as its message.
    std::string_view name = text.substr(0, text.find('{'));
    if (name.find_first_of("*?") == std::string_view::npos) ValidateMetricName(name);
    sel = common::Selector::Parse(text);
  } catch (const Error& e) {
    throw CommandError(Exit::kUsage, e.what());
  }
  Series s;
  s.name = sel.name_glob();
  auto not_one = [&](std::string_view why) {
    return CommandError(Exit::kUsage,
                        fmt::format("'{}' does not name one series ({}): write NAME or "
                                    "NAME{{label=\"value\",...}}",
                                    text, why));
  };
  if (s.name.empty()) throw not_one("no metric name");
  if (s.name.find_first_of("*?") != std::string::npos) throw not_one("globs are not allowed here");
  for (const auto& m : sel.matchers()) {
    if (m.op != common::LabelMatcher::Op::kEq) throw not_one("only = label matchers");
    s.labels.emplace_back(m.name, m.value);
  }
  try {
    ValidateMetricName(s.name);
    for (const auto& [k, v] : s.labels) ValidateLabelName(k);
  } catch (const Error& e) {
    throw CommandError(Exit::kUsage, e.what());
  }
  return s;
}

std::vector<common::Selector> ParseSelectors(const std::vector<std::string>& texts) {
  std::vector<common::Selector> out;
  for (const auto& t : texts) {
    try {
      out.push_back(common::Selector::Parse(t));
    } catch (const Error& e) {
      throw CommandError(Exit::kUsage, e.what());
    }
  }
  return out;
}

bool AnyMatches(const std::vector<common::Selector>& selectors, const MetricSnapshot& m) {
  if (selectors.empty()) return true;
  return std::any_of(selectors.begin(), selectors.end(),
                     [&](const common::Selector& s) { return s.Matches(m); });
}

Segment OpenSegment(const GlobalOptions& global, Access access) {
  return Segment::Open(global.segment, access);
}

Snapshot ReadOrPrintEmpty(const GlobalOptions& global, const nlohmann::json& head) {
  try {
    return OpenSegment(global, Access::kReadOnly).Read();
  } catch (const Error&) {
    if (global.json) {
      nlohmann::json doc = head;
      doc["metrics"] = nlohmann::json::array();
      PrintJson(doc);
    }
    throw;
  }
}

std::string ValueText(const MetricSnapshot& m, const NumberStyle& style) {
  switch (m.type) {
    case MetricType::kCounter:
      return HumanCount(m.counter, m.unit, style);
    case MetricType::kGauge:
      return HumanNumber(m.gauge, m.unit, style);
    case MetricType::kHistogram: {
      const HistogramValue& h = m.histogram;
      auto q = [&](double p) { return HumanNumber(Quantile(h, p), m.unit, style); };
      return fmt::format("count={}  sum={}  p50={}  p90={}  p99={}", h.count,
                         HumanNumber(h.sum, m.unit, style), q(0.5), q(0.9), q(0.99));
    }
  }
  return "";
}

std::vector<const MetricSnapshot*> Sorted(const std::vector<MetricSnapshot>& metrics) {
  // One key per metric (common::SeriesKey, all in one buffer), compared with one
  // memcmp: comparing names, then label vectors string by string, was a quarter
  // of `list` on 10,000 metrics.
  std::string arena;
  std::vector<size_t> ends;
  ends.reserve(metrics.size());
  for (const auto& m : metrics) {
    common::AppendSeriesKey(&arena, m.name, m.labels);
    ends.push_back(arena.size());
  }
  std::vector<std::pair<std::string_view, const MetricSnapshot*>> keyed;
  keyed.reserve(metrics.size());
  for (size_t i = 0, start = 0; i < metrics.size(); start = ends[i++]) {
    keyed.emplace_back(std::string_view(arena).substr(start, ends[i] - start), &metrics[i]);
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const MetricSnapshot*> out;
  out.reserve(keyed.size());
  for (const auto& [key, m] : keyed) out.push_back(m);
  return out;
}

nlohmann::json JsonDocument(const GlobalOptions& global) {
  return {{"version", kJsonVersion}, {"segment", global.segment}};
}

void PrintJson(const nlohmann::json& doc) {
  std::string text = doc.dump(2);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stdout);
}

JsonMetricsWriter::JsonMetricsWriter(const nlohmann::json& head, bool with_buckets)
    : buffer_(head.dump()), with_buckets_(with_buckets) {
  buffer_.pop_back();  // the closing brace; head always has "version"
  buffer_.append(",\"metrics\":[");
}

void JsonMetricsWriter::Add(const MetricSnapshot& metric) {
  buffer_.append(first_ ? "\n" : ",\n");
  first_ = false;
  common::AppendJson(&buffer_, metric, with_buckets_);
  if (buffer_.size() > (1 << 16)) Flush();
}

void JsonMetricsWriter::Finish() {
  buffer_.append("\n]}\n");
  Flush();
}

void JsonMetricsWriter::Flush() {
  std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
  buffer_.clear();
}

void Table::Print(std::FILE* out) const {
  std::vector<size_t> width;
  std::vector<std::vector<size_t>> cells(rows_.size());
  for (size_t r = 0; r < rows_.size(); ++r)
    for (size_t i = 0; i < rows_[r].size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      cells[r].push_back(DisplayWidth(rows_[r][i]));
      width[i] = std::max(width[i], cells[r][i]);
    }
  std::string text;
  for (size_t r = 0; r < rows_.size(); ++r) {
    const auto& row = rows_[r];
    for (size_t i = 0; i < row.size(); ++i) {
      text += row[i];
      if (i + 1 < row.size()) text.append(width[i] - cells[r][i] + 2, ' ');
    }
    text += '\n';
  }
  std::fwrite(text.data(), 1, text.size(), out);
}

}  // namespace shmstats::statsctl
