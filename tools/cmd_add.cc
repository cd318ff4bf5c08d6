// SPDX-License-Identifier: Apache-2.0
// statsctl add SERIES DELTA: add DELTA (may be negative) to a gauge.

#include "tools/record.h"

namespace shmstats::statsctl {
namespace {

Exit RunAdd(const GlobalOptions& global, const RecordOptions& opts) {
  double delta = ParseNumber(opts.value, "delta");
  MetricSpec spec = SpecFor(opts);
  Segment segment = OpenForRecording(global);
  Gauge gauge = RegisterOrExplain([&] { return segment.RegisterGauge(spec); },
                                  "add works on gauges; use inc N for counters");
  gauge.Add(delta);
  return Exit::kOk;
}

}  // namespace

void SetupAdd(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<RecordOptions>();
  CLI::App* sub = app.add_subcommand("add", "Add DELTA (may be negative) to a gauge");
  AddRecordOptions(sub, opts.get(), "DELTA", "finite number to add; negative subtracts");
  sub->footer(R"(The gauge is registered on first use (with --help-text and --unit).

Examples:
  statsctl add workers_busy 1
  statsctl add workers_busy -1)");
  OnParsed(sub, opts, &RunAdd, out);
}

}  // namespace shmstats::statsctl
