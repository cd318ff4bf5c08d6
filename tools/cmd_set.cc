// SPDX-License-Identifier: Apache-2.0
// statsctl set SERIES VALUE: set a gauge, registering it first.

#include "tools/record.h"

namespace shmstats::statsctl {
namespace {

Exit RunSet(const GlobalOptions& global, const RecordOptions& opts) {
  double v = ParseNumber(opts.value, "value");
  MetricSpec spec = SpecFor(opts);
  Segment segment = OpenForRecording(global);
  Gauge gauge = RegisterOrExplain([&] { return segment.RegisterGauge(spec); },
                                  "set works on gauges; use inc for counters and observe for "
                                  "histograms");
  gauge.Set(v);
  return Exit::kOk;
}

}  // namespace

void SetupSet(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<RecordOptions>();
  CLI::App* sub = app.add_subcommand("set", "Set a gauge to VALUE");
  AddRecordOptions(sub, opts.get(), "VALUE", "finite number, negative and fractional allowed");
  sub->footer(R"(The gauge is registered on first use (with --help-text and --unit).

Examples:
  statsctl set queue_depth 17
  statsctl set 'disk_free_ratio{mount="/var"}' 0.42 --help-text 'Free space ratio')");
  OnParsed(sub, opts, &RunSet, out);
}

}  // namespace shmstats::statsctl
