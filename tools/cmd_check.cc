// SPDX-License-Identifier: Apache-2.0
// statsctl check: read-only validation of a segment, reporting every problem.

#include <fmt/format.h>

#include "tools/json_output.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct CheckOptions {};

Exit RunCheck(const GlobalOptions& global, const CheckOptions&) {
  std::vector<std::string> problems;
  std::vector<std::string> notes;
  size_t metrics = 0;
  try {
    Segment segment = OpenSegment(global, Access::kReadOnly);
    Snapshot snap = segment.Read();
    SegmentInfo info = segment.Info();
    metrics = snap.metrics.size();
    problems = snap.problems;
    for (const auto& m : snap.metrics) {
      const HistogramValue& h = m.histogram;
      if (m.type == MetricType::kHistogram && h.counts.size() != h.bounds.size() + 1)
        problems.push_back(fmt::format("{}{}: {} bucket counts for {} bounds", m.name,
                                       LabelsText(m.labels), h.counts.size(), h.bounds.size()));
    }
    if (info.metrics_abandoned)
      notes.push_back(
          fmt::format("{} descriptors abandoned by registrations that lost a race or were refused "
                      "(harmless; their room is not reused)",
                      info.metrics_abandoned));
    if (info.claims_dead)
      notes.push_back(
          fmt::format("{} descriptors claimed by processes that are gone (the next "
                      "registration of a series they linked publishes it)",
                      info.claims_dead));
    if (info.process_series_live + info.process_series_dead + info.process_series_reusable)
      notes.push_back(fmt::format(
          "process-scoped series: {} live, {} of exited processes not yet retired (shmstatsd "
          "retires them every tick), {} retired and reusable",
          info.process_series_live, info.process_series_dead, info.process_series_reusable));
    if (info.registrations_refused)
      notes.push_back(
          fmt::format("{} registrations refused: the segment is full", info.registrations_refused));
  } catch (const Error& e) {
    // A corrupt header is a problem found (status 1); a missing, unreadable or
    // incompatible segment is an error of its own (status 3).
    if (e.code() != Errc::kCorrupt && e.code() != Errc::kTimeout) throw;
    problems.push_back(e.what());
  }
  if (global.json) {
    nlohmann::json doc = JsonDocument(global);
    doc["ok"] = problems.empty();
    doc["metrics_checked"] = metrics;
    doc["problems"] = problems;
    doc["notes"] = notes;
    PrintJson(doc);
  } else {
    for (const auto& p : problems) std::printf("problem: %s\n", p.c_str());
    for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
    if (problems.empty())
      std::printf("ok: segment %s, %zu metrics, no problems\n", global.segment.c_str(), metrics);
  }
  if (!problems.empty())
    throw CommandError(Exit::kNotFound,
                       fmt::format("segment {} has {} problem(s): see them above; if it is "
                                   "corrupt, remove and re-create it",
                                   global.segment, problems.size()));
  return Exit::kOk;
}

}  // namespace

void SetupCheck(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<CheckOptions>();
  CLI::App* sub = app.add_subcommand("check", "Validate a segment (read-only)");
  sub->footer(R"(Checks the header, every published descriptor (names, labels, slot ranges,
bucket bounds) and duplicate series. Prints each problem; exits 1 if there is any,
3 if the segment cannot be opened at all.

Examples:
  statsctl check
  statsctl --segment myapp check --json | jq -r '.problems[]')");
  OnParsed(sub, opts, &RunCheck, out);
}

}  // namespace shmstats::statsctl
