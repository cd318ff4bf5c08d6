// SPDX-License-Identifier: Apache-2.0
// statsctl observe SERIES VALUE: record one observation into a histogram,
// registering it first with --buckets or exponential buckets.

#include <fmt/format.h>

#include <optional>

#include "tools/record.h"

namespace shmstats::statsctl {
namespace {

struct ObserveOptions : RecordOptions {
  std::string buckets;         // --buckets 0.1,0.5,1
  bool buckets_given = false;  // maybe empty
  std::optional<double> min, max;
  std::optional<int> schema;
};

// The layout asked for on the command line, if any.
std::optional<Buckets> RequestedBuckets(const ObserveOptions& o) {
  bool exponential = o.min || o.max || o.schema;
  if (o.buckets_given && exponential)
    throw CommandError(Exit::kUsage,
                       "--buckets cannot be combined with --min, --max or --schema: give "
                       "explicit bounds or an exponential range, not both");
  if (o.buckets_given) {
    if (o.buckets.empty())
      throw CommandError(Exit::kUsage,
                         "--buckets is empty: give ascending bounds such as 0.1,0.5,1 (or leave "
                         "it out for exponential buckets)");
    ExplicitBuckets e;
    for (const auto& part : CLI::detail::split(o.buckets, ','))
      e.bounds.push_back(ParseNumber(part, "bucket bound"));
    for (size_t i = 1; i < e.bounds.size(); ++i)
      if (!(e.bounds[i - 1] < e.bounds[i]))
        throw CommandError(Exit::kUsage, fmt::format("--buckets must increase strictly ({} then "
                                                     "{}): list the bounds in ascending order",
                                                     e.bounds[i - 1], e.bounds[i]));
    return e;
  }
  if (!exponential) return std::nullopt;
  ExponentialBuckets x;
  x.min = o.min.value_or(x.min);
  x.max = o.max.value_or(x.max);
  x.schema = o.schema.value_or(x.schema);
  return x;
}

// The layout of the histogram as registered, so that observing into an existing
// histogram needs no bucket options.
std::optional<Buckets> ExistingBuckets(const Segment& segment, const MetricSpec& spec) {
  Labels sorted = spec.labels;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& m : segment.Read().metrics) {
    if (m.name != spec.name || m.labels != sorted || m.type != MetricType::kHistogram) continue;
    const HistogramValue& h = m.histogram;
    if (!h.exponential) return ExplicitBuckets{h.bounds};
    // min on the second positive bucket's bound (the first is the one below min's)
    // and max on the last one give back the same layout.
    const size_t n = (h.counts.size() - 3) / 2;
    return ExponentialBuckets{h.bounds[n + 3], h.bounds.back(), h.schema, h.zero_threshold};
  }
  return std::nullopt;
}

Exit RunObserve(const GlobalOptions& global, const ObserveOptions& opts) {
  double v = ParseNumber(opts.value, "value");
  MetricSpec spec = SpecFor(opts);
  std::optional<Buckets> buckets = RequestedBuckets(opts);
  Segment segment = OpenForRecording(global);
  if (!buckets) buckets = ExistingBuckets(segment, spec);
  if (!buckets) buckets = ExponentialBuckets{};
  Histogram h = RegisterOrExplain([&] { return segment.RegisterHistogram(spec, *buckets); },
                                  "observe records into histograms (with the buckets it was "
                                  "created with); use inc for counters and set for gauges");
  h.Observe(v);
  return Exit::kOk;
}

}  // namespace

void SetupObserve(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<ObserveOptions>();
  CLI::App* sub = app.add_subcommand("observe", "Record one observation into a histogram");
  AddRecordOptions(sub, opts.get(), "VALUE", "finite number to observe");
  sub->add_option("--buckets", opts->buckets,
                  "explicit upper bounds, ascending, comma-separated (+Inf is implicit)")
      ->each([o = opts.get()](const std::string&) { o->buckets_given = true; });
  sub->add_option("--min", opts->min,
                  "exponential buckets: lowest value of the range (default 1e-06)");
  sub->add_option("--max", opts->max,
                  "exponential buckets: highest value of the range (default 10000)");
  sub->add_option("--schema", opts->schema,
                  "exponential buckets: native-histogram schema, -4 to 8: 2^N buckets per power "
                  "of two (default 3: 9.05% wide)");
  sub->footer(R"(A new histogram gets --buckets, or exponential buckets (--min, --max,
--schema; the defaults when no bucket option is given), Prometheus native-histogram
buckets with a zero bucket and mirrored negatives. An existing histogram
keeps its buckets: bucket options that differ from them are an error (status 5).

Examples:
  statsctl observe backup_duration_seconds 312.5 --unit seconds
  statsctl observe 'response_size_bytes{route="/"}' 1830 --buckets 128,512,2048,8192
  statsctl observe job_latency_seconds 0.042 --min 0.001 --max 60 --schema 4)");
  OnParsed(sub, opts, &RunObserve, out);
}

}  // namespace shmstats::statsctl
