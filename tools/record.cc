// SPDX-License-Identifier: Apache-2.0
#include "tools/record.h"

#include <cstdlib>

#include "tools/segment_access.h"

namespace shmstats::statsctl {

void AddRecordOptions(CLI::App* sub, RecordOptions* opts, const char* value_name,
                      const char* value_help, bool value_optional) {
  sub->add_option("SERIES", opts->series, "metric name, optionally with labels: NAME{k=\"v\",...}")
      ->required();
  auto* value = sub->add_option(value_name, opts->value, value_help);
  value->each([opts](const std::string&) { opts->value_given = true; });
  if (!value_optional) value->required();
  sub->add_option("--help-text", opts->help, "help text, used when the metric is created");
  sub->add_option("--unit", opts->unit, "unit such as seconds or bytes, used when it is created");
}

namespace {

// statsctl records once and exits: its producer record would only say that some
// statsctl ran, and a shell loop of them would fill the table and push out the
// records of real producers. It leaves one when $SHMSTATS_JOB names the job it
// records for, which the record then shows (statsctl ps).
Segment WithProducerPolicy(Segment segment) {
  const char* job = std::getenv("SHMSTATS_JOB");
  if (job == nullptr || *job == '\0') segment.ForgoProducerRecord();
  return segment;
}

Segment OpenOrCreate(const GlobalOptions& global) {
  try {
    return OpenSegment(global, Access::kReadWrite);
  } catch (const Error& e) {
    if (e.code() != Errc::kNotFound) throw;
  }
  SegmentOptions defaults;
  try {
    Segment created = Segment::Create(global.segment, defaults);
    std::fprintf(stderr,
                 "statsctl: created segment /dev/shm/%s (%u metrics, %u value slots; remove it "
                 "and use statsctl create for other sizes)\n",
                 global.segment.c_str(), defaults.max_metrics, defaults.max_slots);
    return created;
  } catch (const Error& e) {
    if (e.code() != Errc::kAlreadyExists) throw;  // another process won the race
  }
  return OpenSegment(global, Access::kReadWrite);
}

}  // namespace

Segment OpenForRecording(const GlobalOptions& global) {
  return WithProducerPolicy(OpenOrCreate(global));
}

MetricSpec SpecFor(const RecordOptions& opts) {
  Series s = ParseSeries(opts.series);
  return MetricSpec{s.name, s.labels, opts.help, opts.unit};
}

}  // namespace shmstats::statsctl
