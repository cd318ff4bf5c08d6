// statsctl get SELECTOR: one metric or one family in full, histograms with every
// bucket.

#include <fmt/format.h>

#include "exposition.h"
#include "util.h"

namespace shmstats::statsctl {
namespace {

struct GetOptions {
  std::string selector;
};

void PrintText(const MetricSnapshot& m) {
  std::string out = fmt::format("{}{}  {}", m.name, LabelsText(m.labels), TypeName(m.type));
  if (!m.unit.empty()) out += fmt::format("  unit={}", m.unit);
  if (!m.help.empty()) out += fmt::format("  # {}", m.help);
  out += '\n';
  if (m.type != MetricType::kHistogram) {
    out += fmt::format("  value  {}\n", ValueText(m));
  } else {
    const HistogramValue& h = m.histogram;
    out += fmt::format("  {}\n", ValueText(m));
    Table buckets({"  le", "count", "cumulative"});
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      std::string le = i < h.bounds.size() ? common::FormatDouble(h.bounds[i]) : "+Inf";
      buckets.Add(
          {"  " + le, fmt::format_int(h.counts[i]).str(), fmt::format_int(cumulative).str()});
    }
    std::fputs(out.c_str(), stdout);
    buckets.Print(stdout);
    return;
  }
  std::fputs(out.c_str(), stdout);
}

Exit RunGet(const GlobalOptions& global, const GetOptions& opts) {
  auto selectors = ParseSelectors({opts.selector});
  Segment segment = OpenSegment(global, Access::kReadOnly);
  Snapshot snap = segment.Read();
  nlohmann::json doc = JsonDocument(global);
  nlohmann::json& metrics = doc["metrics"] = nlohmann::json::array();
  size_t matched = 0;
  for (const MetricSnapshot* m : Sorted(snap.metrics)) {
    if (!AnyMatches(selectors, *m)) continue;
    ++matched;
    if (global.json)
      metrics.push_back(common::ToJson(*m, /*with_buckets=*/true));
    else
      PrintText(*m);
  }
  if (matched == 0)
    throw CommandError(Exit::kNotFound,
                       fmt::format("no metric matches '{}' in segment {}: see every metric with "
                                   "statsctl list",
                                   opts.selector, global.segment));
  if (global.json) PrintJson(doc);
  return Exit::kOk;
}

}  // namespace

void SetupGet(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<GetOptions>();
  CLI::App* sub = app.add_subcommand("get", "Show one metric or family in full");
  sub->add_option("SELECTOR", opts->selector, "metric name, glob or selector with labels")
      ->required();
  sub->footer(R"(Histograms are shown with every bucket (count and cumulative count).
Exits 1 when nothing matches.

Examples:
  statsctl get tool_latency_seconds
  statsctl get 'tool_calls_total{tool="file_read"}' --json | jq '.metrics[0].value')");
  OnParsed(sub, opts, &RunGet, out);
}

}  // namespace shmstats::statsctl
