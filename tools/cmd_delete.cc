// SPDX-License-Identifier: Apache-2.0
// statsctl delete SELECTOR...: remove series from the segment, showing what they held.

#include <fmt/format.h>

#include "tools/parse.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct DeleteOptions {
  std::vector<std::string> selectors;
};

Exit RunDelete(const GlobalOptions& global, const DeleteOptions& opts) {
  auto selectors = ParseSelectors(opts.selectors);
  Segment segment = OpenSegment(global, Access::kReadWrite);
  std::vector<MetricSnapshot> deleted =
      segment.Delete([&](const MetricSnapshot& m) { return AnyMatches(selectors, m); });
  if (deleted.empty())
    throw CommandError(Exit::kNotFound,
                       fmt::format("no series matches {}: nothing was deleted; see every series "
                                   "with statsctl list",
                                   fmt::join(opts.selectors, " or ")));
  PrintTaken(global, deleted, "VALUE WHEN DELETED");
  return Exit::kOk;
}

}  // namespace

void SetupDelete(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<DeleteOptions>();
  CLI::App* sub =
      app.add_subcommand("delete", "Delete series from the segment, printing their last values");
  sub->add_option("SELECTOR", opts->selectors, "metric name, glob or selector with labels")
      ->required();
  sub->footer(R"(Readers (statsctl, shmstatsd, /metrics) stop showing the series at once;
shmstatsd's history keeps what they recorded. A series' room stays its own:
registering the same name and labels again brings it back from zero, and a
producer still holding its handle then records into it again (until then,
what it records is not shown). Exits 1 (and deletes nothing) when SELECTOR
matches nothing.

Examples:
  statsctl delete 'http_requests_total{path="/old"}'
  statsctl delete 'job_*' --json)");
  OnParsed(sub, opts, &RunDelete, out);
}

}  // namespace shmstats::statsctl
