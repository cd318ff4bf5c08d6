// SPDX-License-Identifier: Apache-2.0
// statsctl inc SERIES [N]: add N (default 1) to a counter, registering it first.

#include "tools/record.h"

namespace shmstats::statsctl {
namespace {

Exit RunInc(const GlobalOptions& global, const RecordOptions& opts) {
  uint64_t n = opts.value_given ? ParseIncrement(opts.value) : 1;
  MetricSpec spec = SpecFor(opts);
  Segment segment = OpenForRecording(global);
  Counter counter = RegisterOrExplain([&] { return segment.RegisterCounter(spec); },
                                      "inc counts into counters; use set or add for gauges and "
                                      "observe for histograms");
  counter.Inc(n);
  return Exit::kOk;
}

}  // namespace

void SetupInc(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<RecordOptions>();
  CLI::App* sub = app.add_subcommand("inc", "Add N (default 1) to a counter");
  AddRecordOptions(sub, opts.get(), "N", "non-negative whole number to add (default 1)",
                   /*value_optional=*/true);
  sub->footer(R"(The counter is registered on first use (with --help-text and --unit).

Examples:
  statsctl inc jobs_done_total
  statsctl inc 'bytes_sent_bytes_total{peer="db1"}' 4096 --unit bytes
  statsctl inc backup_failures_total --help-text 'Failed nightly backups')");
  OnParsed(sub, opts, &RunInc, out);
}

}  // namespace shmstats::statsctl
