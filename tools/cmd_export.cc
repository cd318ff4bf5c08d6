// SPDX-License-Identifier: Apache-2.0
// statsctl export --format prometheus|openmetrics|json [PATTERN...]: current values
// in an exposition format.

#include <fmt/format.h>

#include "common/exposition.h"
#include "tools/json_output.h"
#include "tools/parse.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct ExportOptions {
  std::string format = "prometheus";
  std::vector<std::string> patterns;
};

Exit RunExport(const GlobalOptions& global, const ExportOptions& opts) {
  auto selectors = ParseSelectors(opts.patterns);
  Segment segment = OpenSegment(global, Access::kReadOnly);
  Snapshot snap = segment.Read();
  if (!selectors.empty())
    std::erase_if(snap.metrics, [&](const MetricSnapshot& m) { return !AnyMatches(selectors, m); });
  std::string format = global.json ? "json" : opts.format;
  if (format == "json") {
    nlohmann::json head = JsonDocument(global);
    head["taken_unix_ns"] = snap.taken_unix_ns;
    head["problems"] = snap.problems;
    JsonMetricsWriter json(head, /*with_buckets=*/true);
    for (const MetricSnapshot* m : Sorted(snap.metrics)) json.Add(*m);
    json.Finish();
    return Exit::kOk;
  }
  std::string text =
      common::ToText(snap, format == "openmetrics" ? common::TextFormat::kOpenMetrics
                                                   : common::TextFormat::kPrometheus);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Exit::kOk;
}

}  // namespace

void SetupExport(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<ExportOptions>();
  CLI::App* sub = app.add_subcommand("export", "Print current values for other tools");
  sub->add_option("-f,--format", opts->format, "prometheus (text 0.0.4), openmetrics or json")
      ->check(CLI::IsMember({"prometheus", "openmetrics", "json"}));
  sub->add_option("PATTERN", opts->patterns, "export only metrics matching a PATTERN");
  sub->footer(R"(Prometheus and OpenMetrics text pass `promtool check metrics`; --json is the
same as --format json (with every histogram bucket).

Examples:
  statsctl export > /var/lib/node_exporter/textfile/shmstats.prom
  statsctl export --format openmetrics 'tool_*'
  statsctl export --format json | jq '.metrics | length')");
  OnParsed(sub, opts, &RunExport, out);
}

}  // namespace shmstats::statsctl
