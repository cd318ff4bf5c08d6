// SPDX-License-Identifier: Apache-2.0
// statsctl get SELECTOR: one metric or one family in full, histograms with their
// quantiles and a bar chart of their non-empty buckets.

#include <fmt/format.h>

#include <algorithm>

#include "common/exposition.h"
#include "tools/json_output.h"
#include "tools/parse.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct GetOptions {
  std::string selector;
};

// Histograms: count, sum, mean and quantiles, then the non-empty buckets with a
// bar of their counts (the longest bar is the fullest bucket).
void PrintHistogram(const MetricSnapshot& m, const NumberStyle& style, std::string* out) {
  const HistogramValue& h = m.histogram;
  auto num = [&](double v) { return HumanNumber(v, m.unit, style); };
  *out += fmt::format("  count {}  sum {}", h.count, num(h.sum));
  if (h.count > 0) *out += fmt::format("  mean {}", num(h.sum / static_cast<double>(h.count)));
  *out += fmt::format("\n  p50 {}  p90 {}  p99 {}\n", num(Quantile(h, 0.5)), num(Quantile(h, 0.9)),
                      num(Quantile(h, 0.99)));
  uint64_t fullest = 0;
  for (uint64_t c : h.counts) fullest = std::max(fullest, c);
  Table buckets({"  BUCKET", "COUNT", "SHARE", ""});
  size_t empty = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (h.counts[i] == 0) {
      ++empty;
      continue;
    }
    std::string le = i < h.bounds.size() ? "≤ " + num(h.bounds[i]) : "+Inf";
    double share = static_cast<double>(h.counts[i]) / static_cast<double>(h.count);
    buckets.Add({"  " + le, fmt::format_int(h.counts[i]).str(), fmt::format("{:.1f}%", 100 * share),
                 Bar(static_cast<double>(h.counts[i]) / static_cast<double>(fullest), 40)});
  }
  std::fputs(out->c_str(), stdout);
  out->clear();
  if (h.count > 0) buckets.Print(stdout);
  if (empty > 0)
    std::printf("  (%zu empty bucket%s of %zu not shown; --json has them all)\n", empty,
                empty == 1 ? "" : "s", h.counts.size());
}

void PrintText(const MetricSnapshot& m, const NumberStyle& style) {
  std::string out =
      fmt::format("{}{}  {}", common::SeriesName(m), LabelsText(m.labels), TypeName(m.type));
  if (!m.unit.empty()) out += fmt::format("  unit={}", m.unit);
  if (!m.help.empty()) out += fmt::format("  # {}", m.help);
  out += '\n';
  if (m.type == MetricType::kHistogram) return PrintHistogram(m, style, &out);
  out += fmt::format("  value  {}\n", ValueText(m, style));
  std::fputs(out.c_str(), stdout);
}

Exit RunGet(const GlobalOptions& global, const GetOptions& opts) {
  auto selectors = ParseSelectors({opts.selector});
  nlohmann::json doc = JsonDocument(global);
  Snapshot snap = ReadOrPrintEmpty(global, doc);
  nlohmann::json& metrics = doc["metrics"] = nlohmann::json::array();
  size_t matched = 0;
  for (const MetricSnapshot* m : Sorted(snap.metrics)) {
    if (!AnyMatches(selectors, *m)) continue;
    ++matched;
    if (global.json)
      metrics.push_back(common::ToJson(*m, /*with_buckets=*/true));
    else
      PrintText(*m, global.style);
  }
  if (global.json) PrintJson(doc);  // "metrics": [] when nothing matched
  if (matched == 0)
    throw CommandError(Exit::kNotFound,
                       fmt::format("no metric matches '{}' in segment {}: see every metric with "
                                   "statsctl list",
                                   opts.selector, global.segment));
  return Exit::kOk;
}

}  // namespace

void SetupGet(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<GetOptions>();
  CLI::App* sub = app.add_subcommand("get", "Show one metric or family in full");
  sub->add_option("SELECTOR", opts->selector, "metric name, glob or selector with labels")
      ->required();
  sub->footer(R"(Histograms show count, sum, mean, quantiles and their non-empty buckets with a bar
chart of the counts (--json: every bucket, cumulative as in Prometheus).
Exits 1 when nothing matches (3 when the segment is missing or unreadable); with
--json a document is printed in every case, with "metrics": [] when nothing matched.

Examples:
  statsctl get tool_latency_seconds
  statsctl get 'tool_calls_total{tool="file_read"}' --json | jq '.metrics[0].value')");
  OnParsed(sub, opts, &RunGet, out);
}

}  // namespace shmstats::statsctl
