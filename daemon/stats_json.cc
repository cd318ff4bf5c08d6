// SPDX-License-Identifier: Apache-2.0
#include "daemon/stats_json.h"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/exposition.h"
#include "history/time.h"

namespace shmstats::daemon {
namespace {

using common::AppendJsonNumber;
using common::AppendJsonString;
using common::AppendJsonUint;

// "key":value pairs in the order nlohmann::json wrote them (sorted keys), so the
// document is the same as when it was built as a tree; it is streamed because a
// tree of 10,000 series took 33 ms.
void Key(std::string* out, const char* key, bool first = false) {
  if (!first) out->push_back(',');
  out->push_back('"');
  out->append(key).append("\":");
}

void NumberOrNull(std::string* out, bool has, double v) {
  if (has)
    AppendJsonNumber(out, v);
  else
    out->append("null");
}

void Labels(std::string* out, const MetricSnapshot& m, bool first = false) {
  Key(out, "labels", first);
  common::AppendJsonLabels(out, m.labels);
}

void Name(std::string* out, const MetricSnapshot& m) {
  Key(out, "name");
  AppendJsonString(out, common::SeriesName(m));
}

void Unit(std::string* out, const MetricSnapshot& m) {
  Key(out, "unit");
  AppendJsonString(out, m.unit);
}

void AppendSeries(std::string* out, const TickResult& tick, const MetricSnapshot& m,
                  const SeriesStat& st, StatsJsonOrder::Known& known) {
  out->push_back('{');
  switch (m.type) {
    case MetricType::kCounter:
      Key(out, "delta", true);
      if (st.has_delta)
        AppendJsonUint(out, st.delta);
      else
        out->append("null");
      Labels(out, m);
      Name(out, m);
      Key(out, "rate");
      NumberOrNull(out, st.has_delta, st.rate);
      Unit(out, m);
      Key(out, "value");
      if (m.fractional)
        AppendJsonNumber(out, m.counter_double);
      else
        AppendJsonUint(out, m.counter);
      break;
    case MetricType::kGauge:
      Labels(out, m, /*first=*/true);
      Name(out, m);
      Unit(out, m);
      Key(out, "value");
      AppendJsonNumber(out, m.gauge);
      break;
    case MetricType::kHistogram: {
      const HistogramValue& h = tick.Interval(st);
      const bool has = st.has_delta;
      Key(out, "count", true);
      if (has)
        AppendJsonUint(out, h.count);
      else
        out->append("null");
      Labels(out, m);
      // Quantiles once per tick: of the interval when it had observations, which
      // are then the last known ones too.
      const bool fresh = has && h.count;
      if (fresh) known = {Quantile(h, 0.5), Quantile(h, 0.9), Quantile(h, 0.99), tick.unix_ms};
      Key(out, "last_p50");
      NumberOrNull(out, known.unix_ms, known.p50);
      Key(out, "last_p90");
      NumberOrNull(out, known.unix_ms, known.p90);
      Key(out, "last_p99");
      NumberOrNull(out, known.unix_ms, known.p99);
      Key(out, "last_timestamp");
      if (known.unix_ms)
        AppendJsonString(out, history::FormatRfc3339(known.unix_ms));
      else
        out->append("null");
      Key(out, "mean");
      NumberOrNull(out, fresh, h.count ? h.sum / static_cast<double>(h.count) : 0);
      Name(out, m);
      Key(out, "p50");  // null when the interval is empty, as Quantile's NaN would be
      NumberOrNull(out, fresh, known.p50);
      Key(out, "p90");
      NumberOrNull(out, fresh, known.p90);
      Key(out, "p99");
      NumberOrNull(out, fresh, known.p99);
      Key(out, "sum");
      NumberOrNull(out, has, h.sum);
      Key(out, "total_count");
      AppendJsonUint(out, m.histogram.count);
      Key(out, "total_sum");
      AppendJsonNumber(out, m.histogram.sum);
      Unit(out, m);
      break;
    }
  }
  out->push_back('}');
}

}  // namespace

namespace {

std::string& SeriesText(std::string* out, const MetricSnapshot& m) {
  out->assign(common::SeriesName(m));
  common::AppendLabels(out, m.labels);
  return *out;
}

void Sort(const TickResult& tick, StatsJsonOrder& o) {
  const size_t n = tick.stats.size();
  // What was known of the series that stay, found again by identity.
  std::unordered_map<uint64_t, StatsJsonOrder::Known> before;
  for (size_t i = 0; i < o.known.size() && i < o.identities.size(); ++i) {
    if (o.known[i].unix_ms) before.emplace(o.identities[i], o.known[i]);
  }
  o.known.assign(n, {});
  o.identities.resize(n);
  std::vector<std::pair<std::string, uint32_t>> keyed(n);
  for (size_t i = 0; i < n; ++i) {
    const MetricSnapshot& m = tick.snapshot.metrics[tick.stats[i].index];
    o.identities[i] = tick.stats[i].identity;
    if (auto it = before.find(o.identities[i]); it != before.end()) o.known[i] = it->second;
    SeriesText(&keyed[i].first, m);
    keyed[i].second = static_cast<uint32_t>(i);
  }
  auto type = [&](uint32_t i) { return tick.snapshot.metrics[tick.stats[i].index].type; };
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return type(a.second) != type(b.second) ? type(a.second) < type(b.second) : a.first < b.first;
  });
  o.order.resize(n);
  o.ends = {};
  for (size_t i = 0; i < n; ++i) {
    o.order[i] = keyed[i].second;
    for (int t = static_cast<int>(type(o.order[i])) - 1; t < 3; ++t) o.ends[t] = i + 1;
  }
}

bool Unchanged(const TickResult& tick, const StatsJsonOrder& o) {
  if (o.identities.size() != tick.stats.size()) return false;
  for (size_t i = 0; i < tick.stats.size(); ++i) {
    if (o.identities[i] != tick.stats[i].identity) return false;
  }
  return true;
}

}  // namespace

void WriteStatsJson(const TickResult& tick, const std::string& segment, StatsJsonOrder& o,
                    const std::function<void(std::string_view)>& write) {
  if (!Unchanged(tick, o)) Sort(tick, o);
  std::string out, text;
  out.reserve(kStatsJsonPiece + 64 * 1024);
  size_t written = 0;
  auto flush = [&](size_t at_least) {
    if (out.size() < at_least) return;
    written += out.size();
    write(out);
    out.clear();
  };
  const char* sections[3] = {"counters", "gauges", "histograms"};
  for (size_t t = 0, i = 0; t < 3; ++t) {
    out.append(t == 0 ? "{" : ",");
    Key(&out, sections[t], true);
    out.push_back('{');
    for (const size_t begin = i; i < o.ends[t]; ++i) {
      if (i > begin) out.push_back(',');
      const SeriesStat& st = tick.stats[o.order[i]];
      const MetricSnapshot& m = tick.snapshot.metrics[st.index];
      AppendJsonString(&out, SeriesText(&text, m));
      out.push_back(':');
      AppendSeries(&out, tick, m, st, o.known[o.order[i]]);
      flush(kStatsJsonPiece);
    }
    out.push_back('}');
  }
  Key(&out, "interval_seconds");
  AppendJsonNumber(&out, static_cast<double>(tick.interval_ms) / 1000.0);
  Key(&out, "segment");
  AppendJsonString(&out, segment);
  Key(&out, "timestamp");
  AppendJsonString(&out, history::FormatRfc3339(tick.unix_ms));
  Key(&out, "version");
  out.append("1}\n");
  flush(0);
  o.last_size = written;
}

std::string StatsJson(const TickResult& tick, const std::string& segment, StatsJsonOrder& o) {
  std::string doc;
  // Room for the whole document at once: the last one's size, with a margin. (At
  // 100,000 series a guess of 160 bytes a series was half the document, and growing
  // the string copied 16 MB and touched 48 MB of new pages instead of 32.)
  doc.reserve(o.last_size ? o.last_size + o.last_size / 8 : tick.stats.size() * 200 + 256);
  WriteStatsJson(tick, segment, o, [&doc](std::string_view piece) { doc.append(piece); });
  return doc;
}

}  // namespace shmstats::daemon
