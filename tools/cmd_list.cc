// SPDX-License-Identifier: Apache-2.0
// statsctl list [PATTERN...]: every metric (or those matching), one row each.

#include <fmt/format.h>

#include <optional>

#include "common/exposition.h"
#include "tools/json_output.h"
#include "tools/parse.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct ListOptions {
  std::vector<std::string> patterns;
};

Exit RunList(const GlobalOptions& global, const ListOptions& opts) {
  auto selectors = ParseSelectors(opts.patterns);
  nlohmann::json head = JsonDocument(global);
  Snapshot snap = ReadOrPrintEmpty(global, head);
  head["taken_unix_ns"] = snap.taken_unix_ns;
  head["problems"] = snap.problems;
  std::optional<JsonMetricsWriter> json;
  if (global.json) json.emplace(head, /*with_buckets=*/false);
  Table table({"NAME", "LABELS", "TYPE", "VALUE"});
  size_t matched = 0;
  for (const MetricSnapshot* m : Sorted(snap.metrics)) {
    if (!AnyMatches(selectors, *m)) continue;
    ++matched;
    if (json)
      json->Add(*m);
    else
      table.Add({common::SeriesName(*m), LabelsText(m->labels), std::string(TypeName(m->type)),
                 ValueText(*m, global.style)});
  }
  if (json) {
    json->Finish();
  } else {
    table.Print(stdout);
    for (const auto& p : snap.problems) std::fprintf(stderr, "statsctl: skipped %s\n", p.c_str());
  }
  if (matched == 0 && !selectors.empty())
    throw CommandError(Exit::kNotFound,
                       fmt::format("no metric matches {}: see every metric with statsctl list",
                                   fmt::join(opts.patterns, " or ")));
  return Exit::kOk;
}

}  // namespace

void SetupList(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand("list", "List metrics with their current values");
  sub->add_option("PATTERN", opts->patterns,
                  "name glob (* ?) or selector with label matchers (= != =~ !~); a metric "
                  "matching any PATTERN is listed");
  sub->footer(R"(Histograms show count, sum and the p50, p90 and p99 quantiles.

Examples:
  statsctl list
  statsctl list 'tool_*'
  statsctl list 'tool_calls_total{tool="file_read"}'
  statsctl list '{status=~"err.*"}' --json | jq '.metrics[].value')");
  OnParsed(sub, opts, &RunList, out);
}

}  // namespace shmstats::statsctl
