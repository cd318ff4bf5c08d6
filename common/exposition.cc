// SPDX-License-Identifier: Apache-2.0
// Prometheus 0.0.4 and OpenMetrics 1.0 text of a snapshot.
//
// Families are sorted by name, their series in descriptor order (stable while
// the segment exists). Counters are named by SeriesName in both formats. A family whose sample
// names would collide with an earlier family's (a counter `x_count` beside a histogram `x`;
// counters `x` and `x_total`, both exposed as `x_total`) is left out rather than exposed as
// duplicate series.

#include "exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace shmstats::common {
namespace {

struct Family {
  std::string name;  // as exposed on HELP/TYPE lines
  MetricType type;
  std::vector<const MetricSnapshot*> series;
};

// The sample names a family exposes (plus its own name), to detect collisions.
std::vector<std::string> ClaimedNames(const Family& f, TextFormat format) {
  switch (f.type) {
    case MetricType::kCounter:
      if (format == TextFormat::kOpenMetrics)
        return {f.name, f.name + "_total", f.name + "_created"};
      return {f.name};
    case MetricType::kGauge:
      return {f.name};
    case MetricType::kHistogram:
      return {f.name, f.name + "_bucket", f.name + "_sum", f.name + "_count", f.name + "_created"};
  }
  return {f.name};
}

// Families in name order, each family's series in descriptor order. Read() has left
// out duplicate series and families of two types; a series whose type differs from
// its family's is dropped here too, for snapshots built otherwise. Only the family
// names are sorted: sorting 10,000 series by their labels was a quarter of a scrape.
std::vector<Family> Group(const Snapshot& snap, TextFormat format) {
  std::unordered_map<std::string_view, size_t> index;  // metric name -> family
  std::vector<Family> families;
  for (const MetricSnapshot& m : snap.metrics) {
    auto [it, fresh] = index.try_emplace(m.name, families.size());
    if (fresh) families.push_back({FamilyName(m, format), m.type, {}});
    Family& f = families[it->second];
    if (m.type == f.type) f.series.push_back(&m);
  }
  std::sort(families.begin(), families.end(), [](const Family& a, const Family& b) {
    return a.series.front()->name < b.series.front()->name;
  });
  std::unordered_set<std::string> claimed;
  std::vector<Family> kept;
  for (auto& f : families) {
    auto names = ClaimedNames(f, format);
    if (std::any_of(names.begin(), names.end(), [&](const auto& n) { return claimed.count(n); }))
      continue;
    claimed.insert(names.begin(), names.end());
    kept.push_back(std::move(f));
  }
  return kept;
}

// HELP and UNIT come from the series whose labels sort first (the same whatever
// the descriptor order): series of one family may disagree on them.
const MetricSnapshot& HeaderSeries(const Family& f) {
  return **std::min_element(
      f.series.begin(), f.series.end(),
      [](const MetricSnapshot* a, const MetricSnapshot* b) { return a->labels < b->labels; });
}

void AppendHeader(std::string* out, const Family& f, TextFormat format) {
  const MetricSnapshot& first = HeaderSeries(f);
  bool om = format == TextFormat::kOpenMetrics;
  // Always a non-empty HELP line: promtool's lint wants one for every family.
  out->append("# HELP ").append(f.name).push_back(' ');
  AppendEscaped(out, first.help.empty() ? std::string_view("(no help text)") : first.help, om);
  out->push_back('\n');
  out->append("# TYPE ").append(f.name).push_back(' ');
  out->append(TypeName(f.type)).push_back('\n');
  if (om && !first.unit.empty() && f.name.ends_with("_" + first.unit))
    out->append("# UNIT ").append(f.name).append(" ").append(first.unit).push_back('\n');
}

// Python's repr of a float (what prometheus_client prints an exemplar's timestamp
// with): the shortest round trip, ".0" on whole numbers.
std::string PythonRepr(double v) {
  std::string s = FormatDouble(v);
  if (std::isfinite(v) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// An OpenMetrics exemplar after its sample, as prometheus_client writes it:
// ` # {span_id="7",trace_id="abc"} 0.5 1712345678.123`, labels sorted by name.
void AppendExemplar(std::string* out, const Exemplar& e) {
  out->append(" # ");
  if (e.labels.empty()) out->append("{}");
  Labels sorted = e.labels;
  std::sort(sorted.begin(), sorted.end());
  AppendLabels(out, sorted, nullptr);
  out->push_back(' ');
  out->append(FormatBound(e.value)).push_back(' ');
  out->append(PythonRepr(e.timestamp));
}

void AppendSample(std::string* out, std::string_view name, const Labels& labels,
                  const std::string* le, std::string_view value, const Exemplar* exemplar) {
  out->append(name);
  AppendLabels(out, labels, le);
  out->push_back(' ');
  out->append(value);
  if (exemplar) AppendExemplar(out, *exemplar);
  out->push_back('\n');
}

std::string_view Digits(const fmt::format_int& n) { return {n.data(), n.size()}; }

// The sample names of a family, made once per family.
struct SampleNames {
  std::string value;  // a counter's or gauge's sample
  std::string bucket, count, sum;
};

SampleNames NamesOf(const Family& f, TextFormat format) {
  SampleNames n;
  if (f.type == MetricType::kHistogram) {
    n.bucket = f.name + "_bucket";
    n.count = f.name + "_count";
    n.sum = f.name + "_sum";
  } else if (format == TextFormat::kOpenMetrics && f.type == MetricType::kCounter) {
    n.value = f.name == "_total" ? f.name : f.name + "_total";
  } else {
    n.value = f.name;
  }
  return n;
}

// The one place that says which samples a series exposes and under which names:
// calls emit(name, labels, le or nullptr, value, exemplar or nullptr) for each, value
// a uint64_t (counters, bucket counts, _count: exact) or a double (gauges, _sum);
// exemplars only in OpenMetrics (on a counter's sample and on buckets).
template <class Emit>
void VisitSeries(const Family& f, const SampleNames& n, const MetricSnapshot& m, TextFormat format,
                 Emit&& emit) {
  const bool om = format == TextFormat::kOpenMetrics;
  auto exemplar = [&](size_t i) -> const Exemplar* {
    return om && i < m.exemplars.size() && m.exemplars[i] ? &*m.exemplars[i] : nullptr;
  };
  switch (f.type) {
    case MetricType::kCounter:
      if (m.fractional)
        emit(n.value, m.labels, nullptr, m.counter_double, exemplar(0));
      else
        emit(n.value, m.labels, nullptr, m.counter, exemplar(0));
      return;
    case MetricType::kGauge:
      emit(n.value, m.labels, nullptr, m.gauge, nullptr);
      return;
    case MetricType::kHistogram:
      break;
  }
  const HistogramValue& h = m.histogram;
  uint64_t cumulative = 0;
  std::string le;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    le = i < h.bounds.size() ? FormatBound(h.bounds[i]) : "+Inf";
    emit(n.bucket, m.labels, &le, cumulative, exemplar(i));
  }
  if (h.counts.empty()) {
    le = "+Inf";
    emit(n.bucket, m.labels, &le, uint64_t{0}, nullptr);
  }
  // OpenMetrics wants _count and _sum together, and _sum only when no observation
  // can be negative; Prometheus text always has both. The +Inf bucket above is the
  // cumulative total, so _count repeats it exactly.
  bool negative = (!h.bounds.empty() && h.bounds.front() < 0) || !(h.sum >= 0);
  if (format == TextFormat::kOpenMetrics && negative) return;
  emit(n.count, m.labels, nullptr, cumulative, nullptr);
  emit(n.sum, m.labels, nullptr, h.sum, nullptr);
}

}  // namespace

std::string SeriesName(std::string_view name, MetricType type) {
  std::string out(name);
  if (type == MetricType::kCounter && !name.ends_with("_total")) out.append("_total");
  return out;
}

std::string FamilyName(const MetricSnapshot& m, TextFormat format) {
  std::string name = SeriesName(m);
  // "_total" alone stays whole: a family needs a name.
  if (format == TextFormat::kOpenMetrics && m.type == MetricType::kCounter && name.size() > 6)
    name.resize(name.size() - 6);
  return name;
}

void AppendEscaped(std::string* out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\')
      out->append("\\\\");
    else if (c == '\n')
      out->append("\\n");
    else if (c == '"' && quotes)
      out->append("\\\"");
    else
      out->push_back(c);
  }
}

void AppendLabels(std::string* out, const Labels& labels, const std::string* le) {
  if (labels.empty() && !le) return;
  out->push_back('{');
  bool first = true;
  // le in its sorted place among the (sorted) labels, as prometheus_client writes it.
  auto append_le = [&] {
    if (!first) out->push_back(',');
    first = false;
    out->append("le=\"").append(*le).push_back('"');
    le = nullptr;
  };
  for (const auto& [k, v] : labels) {
    if (le && k > "le") append_le();
    if (!first) out->push_back(',');
    first = false;
    out->append(k).append("=\"");
    AppendEscaped(out, v, true);
    out->push_back('"');
  }
  if (le) append_le();
  out->push_back('}');
}

void AppendSeriesKey(std::string* out, std::string_view name, const Labels& labels) {
  out->append(name).push_back('\0');
  for (const auto& [k, v] : labels) out->append(k).append(1, '\0').append(v).push_back('\0');
}

std::string SeriesKey(std::string_view name, const Labels& labels) {
  std::string key;
  AppendSeriesKey(&key, name, labels);
  return key;
}

std::string LabelsText(const Labels& labels) {
  std::string out;
  AppendLabels(&out, labels, nullptr);
  return out;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);  // shortest round trip; fmt ignores the locale
}

std::string FormatBound(double v) {
  std::string s = FormatDouble(v);
  if (!std::isfinite(v)) return s;
  // Python's repr: fmt's shortest form with ".0" on whole numbers below 1e16.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  // Go switches to an exponent sooner: above 1e6 (a dot past position 6).
  const size_t dot = s.find('.');
  if (v > 0 && dot != std::string::npos && dot > 6 && s.find('e') == std::string::npos) {
    std::string mantissa = s.substr(0, 1) + "." + s.substr(1, dot - 1) + s.substr(dot + 1);
    while (!mantissa.empty() && (mantissa.back() == '0' || mantissa.back() == '.'))
      mantissa.pop_back();
    s = fmt::format("{}e+0{}", mantissa, dot - 1);
  }
  return s;
}

std::string ToText(const Snapshot& snap, TextFormat format) {
  std::string out;
  size_t lines = snap.metrics.size();
  for (const auto& m : snap.metrics) lines += m.histogram.counts.size() + 1;
  out.reserve(lines * 64);
  auto append = [&out](std::string_view name, const Labels& labels, const std::string* le,
                       auto value, const Exemplar* exemplar) {
    if constexpr (std::is_same_v<decltype(value), double>) {
      AppendSample(&out, name, labels, le, FormatDouble(value), exemplar);
    } else {
      AppendSample(&out, name, labels, le, Digits(fmt::format_int(value)), exemplar);
    }
  };
  for (const Family& f : Group(snap, format)) {
    AppendHeader(&out, f, format);
    const SampleNames names = NamesOf(f, format);
    for (const MetricSnapshot* m : f.series) VisitSeries(f, names, *m, format, append);
  }
  if (format == TextFormat::kOpenMetrics) out.append("# EOF\n");
  return out;
}

void ForEachSample(const Snapshot& snap, TextFormat format, const SampleVisitor& visit) {
  ForEachFamily(snap, format, [&](const FamilyView& f) {
    for (const MetricSnapshot* m : f.series) ForEachSampleOf(f, *m, format, visit);
  });
}

void ForEachFamily(const Snapshot& snap, TextFormat format,
                   const std::function<void(const FamilyView&)>& visit) {
  for (const Family& f : Group(snap, format))
    visit({f.name, f.type, HeaderSeries(f).help, f.series});
}

void ForEachSampleOf(const FamilyView& f, const MetricSnapshot& m, TextFormat format,
                     const SampleVisitor& visit) {
  auto call = [&visit](std::string_view name, const Labels& labels, const std::string* le,
                       auto value,
                       const Exemplar*) { visit(name, labels, le, static_cast<double>(value)); };
  const Family family{f.name, f.type, {}};
  VisitSeries(family, NamesOf(family, format), m, format, call);
}

const char* ContentType(TextFormat format) {
  return format == TextFormat::kOpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

nlohmann::json LabelsJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

nlohmann::json ToJson(const MetricSnapshot& m, bool with_buckets) {
  nlohmann::json j = {{"name", SeriesName(m)},
                      {"labels", LabelsJson(m.labels)},
                      {"type", TypeName(m.type)},
                      {"help", m.help},
                      {"unit", m.unit}};
  // NaN and infinities have no JSON number: nlohmann writes them as null.
  switch (m.type) {
    case MetricType::kCounter:
      if (m.fractional)
        j["value"] = m.counter_double;
      else
        j["value"] = m.counter;  // uint64: printed exactly, also above 2^53
      break;
    case MetricType::kGauge:
      j["value"] = m.gauge;
      break;
    case MetricType::kHistogram: {
      const HistogramValue& h = m.histogram;
      nlohmann::json hj = {{"count", h.count},
                           {"sum", h.sum},
                           {"p50", Quantile(h, 0.5)},
                           {"p90", Quantile(h, 0.9)},
                           {"p99", Quantile(h, 0.99)}};
      if (with_buckets) {
        nlohmann::json buckets = nlohmann::json::array();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < h.counts.size(); ++i) {
          cumulative += h.counts[i];
          nlohmann::json le = i < h.bounds.size() ? nlohmann::json(h.bounds[i]) : "+Inf";
          buckets.push_back({{"le", std::move(le)}, {"count", cumulative}});
        }
        hj["buckets"] = std::move(buckets);
      }
      j["histogram"] = std::move(hj);
      break;
    }
  }
  return j;
}

}  // namespace shmstats::common
