// SPDX-License-Identifier: Apache-2.0
// statsctl reset SELECTOR | --all: zero metrics atomically and show what they held.

#include <fmt/format.h>

#include "tools/parse.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct ResetOptions {
  std::vector<std::string> selectors;
  bool all = false;
};

Exit RunReset(const GlobalOptions& global, const ResetOptions& opts) {
  if (opts.all == !opts.selectors.empty())
    throw CommandError(Exit::kUsage,
                       "reset needs either SELECTOR... or --all (not both): name what to reset");
  auto selectors = ParseSelectors(opts.selectors);
  Segment segment = OpenSegment(global, Access::kReadWrite);
  std::vector<MetricSnapshot> taken =
      segment.Reset([&](const MetricSnapshot& m) { return AnyMatches(selectors, m); });
  if (taken.empty() && !opts.all)
    throw CommandError(Exit::kNotFound,
                       fmt::format("no metric matches {}: nothing was reset; see every metric "
                                   "with statsctl list",
                                   fmt::join(opts.selectors, " or ")));
  PrintTaken(global, taken, "VALUE BEFORE RESET");
  return Exit::kOk;
}

}  // namespace

void SetupReset(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<ResetOptions>();
  CLI::App* sub = app.add_subcommand("reset", "Reset metrics to zero, printing their old values");
  sub->add_option("SELECTOR", opts->selectors, "metric name, glob or selector with labels");
  sub->add_flag("--all", opts->all, "reset every metric of the segment");
  sub->footer(R"(Each slot is exchanged with zero atomically: an increment racing the reset
is counted either in the printed value or in the new one, never lost.
Exits 1 (and resets nothing) when SELECTOR matches nothing.

Examples:
  statsctl reset tool_failures_total
  statsctl reset 'tool_calls_total{tool="file_read"}'
  statsctl reset --all --json > before-reset.json)");
  OnParsed(sub, opts, &RunReset, out);
}

}  // namespace shmstats::statsctl
