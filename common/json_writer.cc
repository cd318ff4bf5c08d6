// SPDX-License-Identifier: Apache-2.0
// AppendJson: ToJson's output written straight into a string. Keys are in the
// order nlohmann::json writes them (sorted), so both give the same document.

#include <fmt/format.h>

#include <cmath>

#include "exposition.h"

namespace shmstats::common {
namespace {

bool NeedsEscape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  while (!s.empty()) {
    // Runs of characters that need no escape are copied at once.
    size_t plain = 0;
    while (plain < s.size() && !NeedsEscape(s[plain])) ++plain;
    out->append(s.substr(0, plain));
    if (plain == s.size()) break;
    char c = s[plain];
    s.remove_prefix(plain + 1);
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else {  // a control character
      switch (c) {
        case '\n':
          out->append("\\n");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '\r':
          out->append("\\r");
          break;
        default:
          out->append(fmt::format("\\u{:04x}", u));
      }
    }
  }
  out->push_back('"');
}

void AppendJsonNumber(std::string* out, double v) {
  if (std::isfinite(v))
    fmt::format_to(std::back_inserter(*out), "{}", v);
  else
    out->append("null");
}

void AppendJsonUint(std::string* out, uint64_t v) { out->append(fmt::format_int(v).c_str()); }

void AppendJsonLabels(std::string* out, const Labels& labels) {
  out->push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {  // sorted by name, as nlohmann sorts keys
    if (i) out->push_back(',');
    AppendJsonString(out, labels[i].first);
    out->push_back(':');
    AppendJsonString(out, labels[i].second);
  }
  out->push_back('}');
}

namespace {

void AppendHistogram(std::string* out, const HistogramValue& h, bool with_buckets) {
  out->append("{");
  if (with_buckets) {
    out->append("\"buckets\":[");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      out->append(i ? ",{\"count\":" : "{\"count\":");
      AppendJsonUint(out, cumulative);
      out->append(",\"le\":");
      if (i < h.bounds.size())
        AppendJsonNumber(out, h.bounds[i]);
      else
        out->append("\"+Inf\"");
      out->push_back('}');
    }
    out->append("],");
  }
  out->append("\"count\":");
  AppendJsonUint(out, h.count);
  out->append(",\"p50\":");
  AppendJsonNumber(out, Quantile(h, 0.5));
  out->append(",\"p90\":");
  AppendJsonNumber(out, Quantile(h, 0.9));
  out->append(",\"p99\":");
  AppendJsonNumber(out, Quantile(h, 0.99));
  out->append(",\"sum\":");
  AppendJsonNumber(out, h.sum);
  out->push_back('}');
}

}  // namespace

void AppendJson(std::string* out, const MetricSnapshot& m, bool with_buckets) {
  out->append("{\"help\":");
  AppendJsonString(out, m.help);
  if (m.type == MetricType::kHistogram) {
    out->append(",\"histogram\":");
    AppendHistogram(out, m.histogram, with_buckets);
  }
  out->append(",\"labels\":");
  AppendJsonLabels(out, m.labels);
  out->append(",\"name\":");
  AppendJsonString(out, SeriesName(m));
  out->append(",\"type\":");
  AppendJsonString(out, TypeName(m.type));
  out->append(",\"unit\":");
  AppendJsonString(out, m.unit);
  if (m.type == MetricType::kCounter) {
    out->append(",\"value\":");
    if (m.fractional)
      AppendJsonNumber(out, m.counter_double);
    else
      AppendJsonUint(out, m.counter);
  } else if (m.type == MetricType::kGauge) {
    out->append(",\"value\":");
    AppendJsonNumber(out, m.gauge);
  }
  out->push_back('}');
}

}  // namespace shmstats::common
