#include "record.h"

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

MetricSpec SpecFor(const RecordOptions& opts) {
  Series s = ParseSeries(opts.series);
  return MetricSpec{s.name, s.labels, opts.help, opts.unit};
}

}  // namespace shmstats::statsctl
