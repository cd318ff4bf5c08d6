// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace shmstats {

enum class MetricType : uint8_t { kCounter = 1, kGauge = 2, kHistogram = 3 };

// "counter", "gauge" or "histogram".
std::string_view TypeName(MetricType type) noexcept;

// Label pairs in any order; registration sorts them by name, so {a,b} and {b,a}
// name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Who a series belongs to. kShared: every process that registers (name, labels)
// records into one series, which lives as long as the segment. kProcess: the calling
// process gets a series of its own (owner: its pid and start time), which readers
// add into the shared series of the same name and labels (created with it): what
// prometheus_client calls "livesum". A counter's or histogram's values outlive the
// process: once it has exited they are folded into the shared series, so sums never
// drop. A gauge counts only while its process lives. The series of a process that
// has exited is retired (by shmstatsd, or by a registration that needs room) and its
// descriptor and slots reused. A handle of a process-scoped series belongs to the
// registering process: a child after fork() must register again (it gets its own).
enum class Scope : uint8_t { kShared, kProcess };

// How readers combine the process-scoped gauges of one key (the live processes'
// values: an exited process's gauge leaves at once) into the shared series: their
// sum plus the shared series' own value (kSum, prometheus_client's "livesum"), their
// maximum, minimum, or the value written last (kMostRecent: each write also stores
// the Unix time in ns in the slot after the value; see shmstats_gauge_stamp). The
// first registration of the shared series decides, for every process.
enum class GaugeCombine : uint8_t { kSum = 0, kMax = 1, kMin = 2, kMostRecent = 3 };

// What a metric is called and how it is described. Registering the same name and
// labels again returns the same metric; help and unit of the first registration win.
struct MetricSpec {
  std::string name;  // Prometheus rules: [a-zA-Z_:][a-zA-Z0-9_:]*, at most kMaxNameBytes
  Labels labels;     // names [a-zA-Z_][a-zA-Z0-9_]* not starting "__"; values UTF-8, no NUL
  std::string help;  // free text, at most kMaxHelpBytes
  std::string unit;  // [a-zA-Z0-9_]*, e.g. "seconds", at most kMaxUnitBytes
  Scope scope = Scope::kShared;
  // Idle expiry: shmstatsd deletes the series (Segment::Delete) once its values have
  // not changed for this many seconds, as it sees them tick to tick; 0: never. Stored
  // in the series by its first registration (shared series only).
  uint32_t ttl_seconds = 0;
  // Cardinality guard: at most this many series of this family (metric name); past
  // it, a new label set gets the family's overflow series (labels
  // {otel_metric_overflow="true"}, as OpenTelemetry) and is counted. 0: the segment's
  // default (SegmentOptions::family_limit). The first registration of the family that
  // sets one decides it.
  uint32_t family_limit = 0;
  // Gauges (process-scoped ones, and the shared series of their key): see
  // GaugeCombine. live_only: readers show the shared series only while a live process
  // series adds into it (prometheus_client's live modes: no sample once every process
  // has exited).
  GaugeCombine combine = GaugeCombine::kSum;
  bool live_only = false;
};

// The label of a family's overflow series (see MetricSpec::family_limit).
inline constexpr std::string_view kOverflowLabel = "otel_metric_overflow";

inline constexpr size_t kMaxNameBytes = 255;
inline constexpr size_t kMaxLabelBytes = 4096;  // all pairs, encoded as name\0value\0...
inline constexpr size_t kMaxHelpBytes = 1024;
inline constexpr size_t kMaxUnitBytes = 31;
inline constexpr size_t kMaxBuckets = 8192;  // including the +Inf bucket (and the mirrored ones)

// Prometheus-style buckets: finite, strictly increasing upper bounds. A value v is
// counted in the first bucket whose bound satisfies v <= bound, else in +Inf.
struct ExplicitBuckets {
  std::vector<double> bounds;
};

// Exponential buckets on the Prometheus native-histogram schema (the OpenTelemetry
// exponential histogram's scale): bucket i holds (2^((i-1)*2^-schema), 2^(i*2^-schema)],
// each bound the double that docs/segment-format.md defines, so that a histogram
// leaves the host as a native histogram bucket for bucket. Values with
// |v| <= zero_threshold count in the zero bucket; negatives in the same buckets
// mirrored ([-hi, -lo)). Slots are fixed at registration for the range [min, max]:
// positive buckets from the one below min's to max's; a value of either sign whose
// magnitude lies between zero_threshold and the first bucket counts in the first
// bucket of its sign, one beyond max's bucket in the last (the +Inf bucket for
// positives, a mirrored one for negatives). A quantile interpolated within a bucket
// is within relative error 2^(2^-schema) - 1 of the true one (9.05% at schema 3)
// when that lies in [min, max] (or in [-max, -min]).
// REQUIRES: -4 <= schema <= 8; 0 < min < max, finite; 0 < zero_threshold below the
// first bound (min's bucket's lower bound); at most kMaxBuckets buckets in all
// (2 * (positive buckets) + 3).
struct ExponentialBuckets {
  double min = 1e-6;
  double max = 1e4;
  int schema = 3;                                   // 2^schema buckets per power of two
  double zero_threshold = 2.2250738585072014e-308;  // the smallest normal double
};

using Buckets = std::variant<ExplicitBuckets, ExponentialBuckets>;

// Where a counter or histogram keeps its values. kShared: one set of slots that
// every CPU writes, so two threads recording at once on different CPUs pass its
// cache line back and forth (tens of ns per operation). kPerCpu: one set per CPU
// (a stripe, on its own cache lines; the CPU read from the rseq area, no system
// call), summed by readers: no cache line is shared between CPUs while recording,
// at the price of memory: stripes = the machine's CPUs rounded up to a power of two
// (at most 128), each a whole cache line for a counter (64 bytes) or
// ceil((1 + buckets) / 8) lines for a histogram. Opt-in, for the hot metrics that
// many threads record at once. The first registration of a series decides; a later
// one with the other striping gets the series as it is.
enum class Striping : uint8_t { kShared, kPerCpu };

// Throw Error(kInvalidArgument) naming the rule broken; return normally otherwise.
void ValidateMetricName(std::string_view name);
void ValidateLabelName(std::string_view name);

}  // namespace shmstats
