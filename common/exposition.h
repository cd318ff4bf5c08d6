// SPDX-License-Identifier: Apache-2.0
#pragma once

// Text formats of a snapshot, shared by statsctl (export) and shmstatsd (/metrics,
// /stats). NOT part of libshmstats' public API.

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "shmstats/snapshot.h"

namespace shmstats::common {

enum class TextFormat { kPrometheus, kOpenMetrics };

// Prometheus text format 0.0.4 (or OpenMetrics 1.0 text, ending in "# EOF").
// Families in name order (their series in descriptor order), one HELP/TYPE per
// family, histograms with cumulative _bucket{le=...} ending in le="+Inf" == _count,
// then _sum and _count; label values escaped (\\ \" \n); numbers
// locale-independent, counters exact. Expects what Segment::Read() returns: no
// duplicate series.
std::string ToText(const Snapshot& snap, TextFormat format);

// One sample as ToText writes it: its name (a histogram's x_bucket, x_count, x_sum),
// the series' labels, the bucket's le (null for other samples) and the value
// (counters and counts converted to double).
using SampleVisitor = std::function<void(std::string_view name, const Labels& labels,
                                         const std::string* le, double value)>;

// Every sample ToText(snap, format) writes, in its order and with its names (the
// same code names both): for other wire formats that must name series as /metrics
// does (remote-write). Families that ToText leaves out are left out here too.
void ForEachSample(const Snapshot& snap, TextFormat format, const SampleVisitor& visit);

// One family as ToText groups it: its name (as on its TYPE line), type, HELP text
// (of the series whose labels sort first) and series in ToText's order.
struct FamilyView {
  const std::string& name;
  MetricType type;
  const std::string& help;
  const std::vector<const MetricSnapshot*>& series;
};

// Every family ToText(snap, format) writes, in its order: for wire formats that
// carry families (the protobuf exposition) or treat some series apart (remote-write's
// native histograms).
void ForEachFamily(const Snapshot& snap, TextFormat format,
                   const std::function<void(const FamilyView&)>& visit);

// The samples ForEachSample gives for series `m` of family `f`.
void ForEachSampleOf(const FamilyView& f, const MetricSnapshot& m, TextFormat format,
                     const SampleVisitor& visit);

// The one name a series carries in every output (Prometheus text, OpenMetrics,
// remote-write, JSON, statsctl, history export), as prometheus_client names it: a
// counter's registered name with "_total" appended unless it already ends in it
// (statsd counter `a` is `a_total`), other types' names unchanged. Selectors match
// a series by this name as well as by its registered one.
std::string SeriesName(std::string_view name, MetricType type);
inline std::string SeriesName(const MetricSnapshot& m) { return SeriesName(m.name, m.type); }

// The name on a family's HELP/TYPE lines: SeriesName(m), but a counter's without
// "_total" in OpenMetrics (its sample is then <family>_total).
std::string FamilyName(const MetricSnapshot& m, TextFormat format);

// The Content-Type for a TextFormat, e.g. "text/plain; version=0.0.4; charset=utf-8".
const char* ContentType(TextFormat format);

// Locale-independent shortest round-trip formatting of a double ("0.1", "1e+300",
// "NaN", "+Inf", "-Inf"), as both Prometheus text and statsctl tables use.
std::string FormatDouble(double v);

// A histogram bucket bound as its le label, as prometheus_client writes it (Go's
// float formatting): "1.0", "0.005", "1e-06", "1e+06", "+Inf". Label values are
// series identity: a migration from prometheus_client keeps its bucket series.
std::string FormatBound(double v);

// Appends s escaped as the text formats do: \\ and newline always, " when quotes
// (label values; OpenMetrics HELP text too).
void AppendEscaped(std::string* out, std::string_view s, bool quotes);

// {k="v",...} with values escaped as the text format does (\\ \" \n), then
// le="<le>" when le is given; appends nothing when there is no label at all.
void AppendLabels(std::string* out, const Labels& labels, const std::string* le = nullptr);
std::string LabelsText(const Labels& labels);  // the same, as a string

// A series' identity as one string: name\0label\0value\0... Names and label
// values hold no NUL, so keys compare as (name, labels) pairs do.
std::string SeriesKey(std::string_view name, const Labels& labels);
void AppendSeriesKey(std::string* out, std::string_view name, const Labels& labels);

// Labels as a JSON object {"name": "value", ...}.
nlohmann::json LabelsJson(const Labels& labels);

// One metric as JSON (the "metrics" items of docs/statsctl.schema.json): name,
// labels object, type, help, unit, and value (counter: exact uint64; gauge: number)
// or histogram {count, sum, p50, p90, p99, buckets: [{le, count}...]} (cumulative,
// le as a number, +Inf as the string "+Inf").
nlohmann::json ToJson(const MetricSnapshot& m, bool with_buckets);

// Pieces of JSON appended to a string, for documents too large for a tree: a
// quoted string (escaped as JSON requires), a number (shortest round trip,
// locale-free; NaN and infinities as null), an exact unsigned integer, labels as
// an object (the same as LabelsJson(labels).dump()).
void AppendJsonString(std::string* out, std::string_view s);
void AppendJsonNumber(std::string* out, double v);
void AppendJsonUint(std::string* out, uint64_t v);
void AppendJsonLabels(std::string* out, const Labels& labels);

// Appends the same JSON as ToJson(m, with_buckets).dump() (keys in the same
// order, numbers formatted by FormatDouble, NaN and infinities as null) without
// building a JSON tree: for listings of thousands of metrics.
void AppendJson(std::string* out, const MetricSnapshot& m, bool with_buckets);

}  // namespace shmstats::common
