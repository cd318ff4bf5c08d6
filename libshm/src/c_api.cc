// SPDX-License-Identifier: Apache-2.0
// The C ABI (shmstats/shmstats_c.h) over the C++ library: exceptions become status
// codes and a per-thread message; handles are the C++ handles' bytes.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "shmstats/error.h"
#include "shmstats/segment.h"
#include "shmstats/shmstats_c.h"

struct shmstats_segment {
  shmstats::Segment segment;
};

struct shmstats_snapshot {
  std::vector<shmstats::MetricSnapshot> metrics;
  std::vector<std::vector<shmstats_label>> labels;
  std::vector<shmstats_metric_value> values;
};

namespace shmstats {
namespace {

static_assert(sizeof(shmstats_slot) == sizeof(detail::Slot));
// 0.3 took `scope` from the reserved words, 0.4 `zero_threshold`, 0.5 `ttl_seconds`,
// `family_limit` and `gauge_combine`: the
// options keep 0.2's size and layout.
static_assert(offsetof(shmstats_metric_options, scope) ==
                  offsetof(shmstats_metric_options, striping) + 8 &&
              offsetof(shmstats_metric_options, zero_threshold) ==
                  offsetof(shmstats_metric_options, scope) + 8 &&
              offsetof(shmstats_metric_options, ttl_seconds) ==
                  offsetof(shmstats_metric_options, zero_threshold) + 8 &&
              offsetof(shmstats_metric_options, gauge_combine) ==
                  offsetof(shmstats_metric_options, ttl_seconds) + 8 &&
              offsetof(shmstats_metric_options, reserved) ==
                  offsetof(shmstats_metric_options, gauge_combine) + 8 &&
              sizeof(shmstats_metric_options) == offsetof(shmstats_metric_options, reserved) + 24);
// 0.5 took family_limit from the segment options' reserved words: same size.
static_assert(sizeof(shmstats_segment_options) == 56 &&
              offsetof(shmstats_segment_options, family_limit) == 24);
static_assert(static_cast<int>(GaugeCombine::kMax) == SHMSTATS_GAUGE_MAX &&
              static_cast<int>(GaugeCombine::kMin) == SHMSTATS_GAUGE_MIN &&
              static_cast<int>(GaugeCombine::kMostRecent) == SHMSTATS_GAUGE_MOST_RECENT);
static_assert(static_cast<int>(Scope::kProcess) == SHMSTATS_SCOPE_PROCESS &&
              static_cast<int>(Scope::kShared) == SHMSTATS_SCOPE_SHARED);

}  // namespace

// The C handles are the C++ handles, field for field (the C inline functions
// mirror metrics.h, and registration copies the bytes): a change of either that
// is not made to both does not compile.
struct detail::CAbiLayout {
#define SHMSTATS_SAME_FIELD(Cxx, cxx_field, C, c_field)             \
  static_assert(offsetof(Cxx, cxx_field) == offsetof(C, c_field) && \
                sizeof(std::declval<Cxx>().cxx_field) == sizeof(std::declval<C>().c_field))
  static_assert(std::is_trivially_copyable_v<Counter> &&
                sizeof(Counter) == sizeof(shmstats_counter));
  SHMSTATS_SAME_FIELD(Counter, slot_, shmstats_counter, slot);
  SHMSTATS_SAME_FIELD(Counter, stripe_mask_, shmstats_counter, stripe_mask);

  static_assert(std::is_trivially_copyable_v<FloatCounter> &&
                sizeof(FloatCounter) == sizeof(shmstats_float_counter));
  SHMSTATS_SAME_FIELD(FloatCounter, slot_, shmstats_float_counter, slot);

  static_assert(std::is_trivially_copyable_v<Gauge> && sizeof(Gauge) == sizeof(shmstats_gauge));
  SHMSTATS_SAME_FIELD(Gauge, slot_, shmstats_gauge, slot);

  static_assert(std::is_trivially_copyable_v<Histogram> &&
                sizeof(Histogram) == sizeof(shmstats_histogram));
  SHMSTATS_SAME_FIELD(Histogram, slots_, shmstats_histogram, slots);
  SHMSTATS_SAME_FIELD(Histogram, native_, shmstats_histogram, native);
  SHMSTATS_SAME_FIELD(Histogram, cells_, shmstats_histogram, cells);
  SHMSTATS_SAME_FIELD(Histogram, bounds_, shmstats_histogram, bounds);
  SHMSTATS_SAME_FIELD(Histogram, min_key_, shmstats_histogram, min_key);
  SHMSTATS_SAME_FIELD(Histogram, last_, shmstats_histogram, last);
  SHMSTATS_SAME_FIELD(Histogram, shift_, shmstats_histogram, shift);
  SHMSTATS_SAME_FIELD(Histogram, n_bounds_, shmstats_histogram, n_bounds);
  SHMSTATS_SAME_FIELD(Histogram, kind_, shmstats_histogram, kind);
  SHMSTATS_SAME_FIELD(Histogram, stripe_mask_, shmstats_histogram, stripe_mask);
  SHMSTATS_SAME_FIELD(Histogram, stripe_stride_, shmstats_histogram, stripe_stride);
  SHMSTATS_SAME_FIELD(Histogram, coarse_shift_, shmstats_histogram, coarse_shift);
  SHMSTATS_SAME_FIELD(Histogram, zero_bits_, shmstats_histogram, zero_bits);
  static_assert(Histogram::kExponential == SHMSTATS_HISTOGRAM_EXPONENTIAL &&
                Histogram::kTable == SHMSTATS_HISTOGRAM_TABLE &&
                Histogram::kSearch == SHMSTATS_HISTOGRAM_SEARCH);

  static_assert(sizeof(detail::BucketCell) == sizeof(shmstats_bucket_cell) &&
                alignof(detail::BucketCell) == alignof(shmstats_bucket_cell));
  SHMSTATS_SAME_FIELD(detail::BucketCell, candidate, shmstats_bucket_cell, candidate);
  SHMSTATS_SAME_FIELD(detail::BucketCell, first, shmstats_bucket_cell, first);
#undef SHMSTATS_SAME_FIELD
};

static_assert(static_cast<int>(TimerClock::kTsc) == SHMSTATS_TIMER_TSC &&
              static_cast<int>(TimerClock::kSteadyClock) == SHMSTATS_TIMER_STEADY_CLOCK);

namespace {

thread_local std::string last_error;

shmstats_status Fail(shmstats_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

shmstats_status StatusOf(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return SHMSTATS_INVALID_ARGUMENT;
    case Errc::kNotFound:
      return SHMSTATS_NOT_FOUND;
    case Errc::kAlreadyExists:
      return SHMSTATS_ALREADY_EXISTS;
    case Errc::kTypeMismatch:
      return SHMSTATS_TYPE_MISMATCH;
    case Errc::kFull:
      return SHMSTATS_FULL;
    case Errc::kIncompatible:
      return SHMSTATS_INCOMPATIBLE;
    case Errc::kCorrupt:
      return SHMSTATS_CORRUPT;
    case Errc::kPermission:
      return SHMSTATS_PERMISSION;
    case Errc::kTimeout:
      return SHMSTATS_TIMEOUT;
    case Errc::kSystem:
      return SHMSTATS_SYSTEM;
  }
  return SHMSTATS_SYSTEM;
}

// Runs f, turning every exception into a status and a message.
template <class F>
shmstats_status Guard(F&& f) noexcept {
  try {
    f();
    last_error.clear();
    return SHMSTATS_OK;
  } catch (const Error& e) {
    return Fail(StatusOf(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return Fail(SHMSTATS_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return Fail(SHMSTATS_SYSTEM, e.what());
  }
}

void Require(bool ok, const char* what) {
  if (!ok) throw Error(Errc::kInvalidArgument, what);
}

// Bytes of a caller's struct beyond what this library knows must be zero: an
// option we do not implement is refused rather than ignored.
void RequireKnown(const void* p, uint32_t size, size_t known, const char* what) {
  Require(size >= known && size <= 4096, what);
  const auto* bytes = static_cast<const unsigned char*>(p);
  for (size_t i = known; i < size; ++i) {
    Require(bytes[i] == 0, "an option of a newer shmstats is set: upgrade libshmstats");
  }
}

SegmentOptions ToOptions(const shmstats_segment_options* o) {
  SegmentOptions out;
  if (!o) return out;
  RequireKnown(o, o->size, sizeof(*o), "shmstats_segment_options.size is wrong: call _init");
  for (uint64_t r : o->reserved) Require(r == 0, "shmstats_segment_options.reserved must be zero");
  Require(o->reserved0 == 0, "shmstats_segment_options.reserved0 must be zero");
  out.family_limit = o->family_limit;
  out.max_metrics = o->max_metrics;
  out.max_slots = o->max_slots;
  out.mode = static_cast<mode_t>(o->mode);
  if (o->group >= 0) out.group = static_cast<gid_t>(o->group);
  return out;
}

MetricSpec ToSpec(const shmstats_metric_options* o) {
  Require(o != nullptr, "metric options are NULL");
  RequireKnown(o, o->size, sizeof(*o), "shmstats_metric_options.size is wrong: call _init");
  Require(o->flags == 0, "shmstats_metric_options.flags must be zero");
  Require(o->striping == SHMSTATS_STRIPING_SHARED || o->striping == SHMSTATS_STRIPING_PER_CPU,
          "shmstats_metric_options.striping must be SHMSTATS_STRIPING_SHARED or _PER_CPU");
  Require(o->scope == SHMSTATS_SCOPE_SHARED || o->scope == SHMSTATS_SCOPE_PROCESS,
          "shmstats_metric_options.scope must be SHMSTATS_SCOPE_SHARED or _PROCESS");
  for (uint64_t r : o->reserved) {
    Require(r == 0,
            "shmstats_metric_options.reserved must be zero (an option of a newer "
            "shmstats?)");
  }
  Require(o->name != nullptr, "the metric name is NULL");
  MetricSpec spec;
  spec.name = o->name;
  Require(o->n_labels == 0 || o->labels != nullptr, "labels is NULL but n_labels is not 0");
  for (size_t i = 0; i < o->n_labels; ++i) {
    Require(o->labels[i].name && o->labels[i].value, "a label name or value is NULL");
    spec.labels.emplace_back(o->labels[i].name, o->labels[i].value);
  }
  if (o->help) spec.help = o->help;
  if (o->unit) spec.unit = o->unit;
  spec.scope = o->scope == SHMSTATS_SCOPE_PROCESS ? Scope::kProcess : Scope::kShared;
  spec.ttl_seconds = o->ttl_seconds;
  spec.family_limit = o->family_limit;
  Require((o->gauge_combine & ~uint64_t{SHMSTATS_GAUGE_LIVE_ONLY | 3}) == 0,
          "shmstats_metric_options.gauge_combine must be SHMSTATS_GAUGE_SUM, _MAX, _MIN or "
          "_MOST_RECENT, optionally | SHMSTATS_GAUGE_LIVE_ONLY");
  spec.combine = static_cast<GaugeCombine>(o->gauge_combine & 3);
  spec.live_only = (o->gauge_combine & SHMSTATS_GAUGE_LIVE_ONLY) != 0;
  return spec;
}

Buckets ToBuckets(const shmstats_metric_options* o) {
  if (o->bucket_kind == SHMSTATS_BUCKETS_EXPLICIT) {
    Require(o->n_bounds == 0 || o->bounds != nullptr, "bounds is NULL but n_bounds is not 0");
    return ExplicitBuckets{std::vector<double>(o->bounds, o->bounds + o->n_bounds)};
  }
  Require(o->bucket_kind == SHMSTATS_BUCKETS_EXPONENTIAL, "unknown bucket_kind");
  ExponentialBuckets e{o->min, o->max, o->schema};
  if (o->zero_threshold != 0) e.zero_threshold = o->zero_threshold;
  return e;
}

Striping StripingOf(const shmstats_metric_options* o) {
  return o->striping == SHMSTATS_STRIPING_PER_CPU ? Striping::kPerCpu : Striping::kShared;
}

shmstats_status OpenWith(shmstats_segment** out, const std::function<Segment()>& open) {
  if (!out) return Fail(SHMSTATS_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  return Guard([&] { *out = new shmstats_segment{open()}; });
}

template <class To, class From>
void CopyHandle(const From& from, To* to) {
  static_assert(sizeof(From) == sizeof(To));
  std::memcpy(static_cast<void*>(to), &from, sizeof(To));
}

}  // namespace
}  // namespace shmstats

namespace shmstats {
namespace {
// An exemplar through the C ABI: the C handle's bytes are the C++ handle's.
template <class Handle, class CHandle>
shmstats_status StoreExemplarOf(shmstats_segment* segment, const CHandle* c, double value,
                                const shmstats_label* labels, size_t n_labels) {
  if (!segment || !c || (n_labels && !labels))
    return Fail(SHMSTATS_INVALID_ARGUMENT, "segment, handle or labels is NULL");
  ExemplarResult result = ExemplarResult::kStored;
  shmstats_status status = Guard([&] {
    Labels l;
    for (size_t i = 0; i < n_labels; ++i) {
      Require(labels[i].name && labels[i].value, "an exemplar label's name or value is NULL");
      l.emplace_back(labels[i].name, labels[i].value);
    }
    Handle h;
    std::memcpy(static_cast<void*>(&h), c, sizeof h);
    result = segment->segment.StoreExemplar(h, value, l);
  });
  if (status == SHMSTATS_OK && result == ExemplarResult::kNoRoom)
    return Fail(SHMSTATS_FULL, "the segment's exemplar region is full: the exemplar was dropped");
  return status;
}
}  // namespace
}  // namespace shmstats

using namespace shmstats;

extern "C" {

uint32_t shmstats_abi_version(void) { return SHMSTATS_C_ABI_MAJOR * 1000 + SHMSTATS_C_ABI_MINOR; }

const char* shmstats_last_error(void) { return last_error.c_str(); }

void shmstats_segment_options_init(shmstats_segment_options* o) {
  std::memset(o, 0, sizeof(*o));
  SegmentOptions d;
  o->size = sizeof(*o);
  o->max_metrics = d.max_metrics;
  o->max_slots = d.max_slots;
  o->mode = d.mode;
  o->group = -1;
}

shmstats_status shmstats_segment_create(const char* name, const shmstats_segment_options* options,
                                        shmstats_segment** out) {
  if (!name) return Fail(SHMSTATS_INVALID_ARGUMENT, "the segment name is NULL");
  return OpenWith(out, [&] { return Segment::Create(name, ToOptions(options)); });
}

shmstats_status shmstats_segment_open(const char* name, int read_only, shmstats_segment** out) {
  if (!name) return Fail(SHMSTATS_INVALID_ARGUMENT, "the segment name is NULL");
  return OpenWith(
      out, [&] { return Segment::Open(name, read_only ? Access::kReadOnly : Access::kReadWrite); });
}

shmstats_status shmstats_segment_open_or_create(const char* name,
                                                const shmstats_segment_options* options,
                                                shmstats_segment** out) {
  if (!name) return Fail(SHMSTATS_INVALID_ARGUMENT, "the segment name is NULL");
  return OpenWith(out, [&] { return Segment::OpenOrCreate(name, ToOptions(options)); });
}

shmstats_status shmstats_segment_remove(const char* name) {
  if (!name) return Fail(SHMSTATS_INVALID_ARGUMENT, "the segment name is NULL");
  bool removed = false;
  shmstats_status s = Guard([&] {
    Segment::ValidateName(name);
    removed = Segment::Remove(name);
  });
  if (s == SHMSTATS_OK && !removed) {
    return Fail(SHMSTATS_NOT_FOUND, std::string("no segment named ") + name);
  }
  return s;
}

void shmstats_segment_close(shmstats_segment* segment) { delete segment; }

int shmstats_segment_replaced(const shmstats_segment* segment) {
  if (!segment) return 0;
  try {
    return segment->segment.Replaced() ? 1 : 0;
  } catch (...) {
    return 1;  // cannot tell what the name is now: open it again
  }
}

void shmstats_metric_options_init(shmstats_metric_options* o) {
  std::memset(o, 0, sizeof(*o));
  ExponentialBuckets d;
  o->size = sizeof(*o);
  o->bucket_kind = SHMSTATS_BUCKETS_EXPONENTIAL;
  o->schema = d.schema;
  o->min = d.min;
  o->max = d.max;
}

shmstats_status shmstats_register_counter(shmstats_segment* segment,
                                          const shmstats_metric_options* options,
                                          shmstats_counter* out) {
  if (!segment || !out) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment or out is NULL");
  CopyHandle(Counter(), out);
  return Guard([&] {
    MetricSpec spec = ToSpec(options);
    CopyHandle(segment->segment.RegisterCounter(spec, StripingOf(options)), out);
  });
}

shmstats_status shmstats_register_float_counter(shmstats_segment* segment,
                                                const shmstats_metric_options* options,
                                                shmstats_float_counter* out) {
  if (!segment || !out) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment or out is NULL");
  CopyHandle(FloatCounter(), out);
  return Guard([&] {
    MetricSpec spec = ToSpec(options);
    Require(options->striping == SHMSTATS_STRIPING_SHARED,
            "float counters are not striped: set striping to 0");
    CopyHandle(segment->segment.RegisterFloatCounter(spec), out);
  });
}

shmstats_status shmstats_register_gauge(shmstats_segment* segment,
                                        const shmstats_metric_options* options,
                                        shmstats_gauge* out) {
  if (!segment || !out) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment or out is NULL");
  CopyHandle(Gauge(), out);
  return Guard([&] {
    MetricSpec spec = ToSpec(options);
    Require(options->striping == SHMSTATS_STRIPING_SHARED,
            "gauges are not striped: set striping to 0");
    CopyHandle(segment->segment.RegisterGauge(spec), out);
  });
}

shmstats_status shmstats_register_histogram(shmstats_segment* segment,
                                            const shmstats_metric_options* options,
                                            shmstats_histogram* out) {
  if (!segment || !out) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment or out is NULL");
  CopyHandle(Histogram(), out);
  return Guard([&] {
    MetricSpec spec = ToSpec(options);
    CopyHandle(segment->segment.RegisterHistogram(spec, ToBuckets(options), StripingOf(options)),
               out);
  });
}

void shmstats_ffi_counter_inc(const shmstats_counter* c, uint64_t n) {
  shmstats_counter_inc(*c, n);
}
void shmstats_ffi_float_counter_inc(const shmstats_float_counter* c, double d) {
  shmstats_float_counter_inc(*c, d);
}
void shmstats_ffi_gauge_set(const shmstats_gauge* g, double v) { shmstats_gauge_set(*g, v); }
void shmstats_ffi_gauge_add(const shmstats_gauge* g, double d) { shmstats_gauge_add(*g, d); }
void shmstats_ffi_histogram_observe(const shmstats_histogram* h, double v) {
  shmstats_histogram_observe(h, v);
}
int64_t shmstats_ffi_histogram_bucket_index(const shmstats_histogram* h, double v) {
  return v != v ? -1 : static_cast<int64_t>(shmstats_histogram_bucket_index(h, v));
}

shmstats_status shmstats_counter_exemplar(shmstats_segment* segment, const shmstats_counter* c,
                                          double value, const shmstats_label* labels,
                                          size_t n_labels) {
  return StoreExemplarOf<Counter>(segment, c, value, labels, n_labels);
}

shmstats_status shmstats_float_counter_exemplar(shmstats_segment* segment,
                                                const shmstats_float_counter* c, double value,
                                                const shmstats_label* labels, size_t n_labels) {
  return StoreExemplarOf<FloatCounter>(segment, c, value, labels, n_labels);
}

shmstats_status shmstats_histogram_exemplar(shmstats_segment* segment, const shmstats_histogram* h,
                                            double value, const shmstats_label* labels,
                                            size_t n_labels) {
  return StoreExemplarOf<Histogram>(segment, h, value, labels, n_labels);
}

int shmstats_timer_calibrate(void) { return static_cast<int>(CalibrateTimerClock()); }

int shmstats_timer_set_clock(int clock) {
  if (clock != SHMSTATS_TIMER_TSC && clock != SHMSTATS_TIMER_STEADY_CLOCK) return 0;
  return SetTimerClock(static_cast<TimerClock>(clock)) ? 1 : 0;
}

uint64_t shmstats_timer_now(void) { return detail::TimerTicks(); }

double shmstats_timer_elapsed(uint64_t start) {
  return detail::TimerSeconds(start, detail::TimerTicks());
}

shmstats_status shmstats_snapshot_read(const shmstats_segment* segment, shmstats_snapshot** out) {
  if (!segment || !out) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment or out is NULL");
  *out = nullptr;
  return Guard([&] {
    auto snap = std::make_unique<shmstats_snapshot>();
    snap->metrics = segment->segment.Read().metrics;
    snap->labels.resize(snap->metrics.size());
    snap->values.resize(snap->metrics.size());
    for (size_t i = 0; i < snap->metrics.size(); ++i) {
      const MetricSnapshot& m = snap->metrics[i];
      for (const auto& [k, v] : m.labels) snap->labels[i].push_back({k.c_str(), v.c_str()});
      shmstats_metric_value& v = snap->values[i];
      v = {};
      v.name = m.name.c_str();
      v.labels = snap->labels[i].data();
      v.n_labels = m.labels.size();
      v.type = static_cast<int32_t>(m.type);
      v.schema = m.histogram.schema;
      v.exponential = m.histogram.exponential ? 1 : 0;
      v.first_index = m.histogram.first_index;
      v.zero_threshold = m.histogram.zero_threshold;
      v.help = m.help.c_str();
      v.unit = m.unit.c_str();
      v.counter = m.counter;
      v.gauge = m.gauge;
      v.bounds = m.histogram.bounds.data();
      v.bucket_counts = m.histogram.counts.data();
      v.n_buckets = m.histogram.counts.size();
      v.sum = m.histogram.sum;
      v.count = m.histogram.count;
      v.counter_double = CounterValue(m);
      v.fractional = m.fractional ? 1 : 0;
    }
    *out = snap.release();
  });
}

size_t shmstats_snapshot_count(const shmstats_snapshot* snapshot) {
  return snapshot ? snapshot->values.size() : 0;
}

const shmstats_metric_value* shmstats_snapshot_metric(const shmstats_snapshot* snapshot, size_t i) {
  return snapshot && i < snapshot->values.size() ? &snapshot->values[i] : nullptr;
}

void shmstats_snapshot_free(shmstats_snapshot* snapshot) { delete snapshot; }

shmstats_status shmstats_reset(shmstats_segment* segment, const char* name, size_t* n_reset) {
  if (!segment) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment is NULL");
  return Guard([&] {
    std::string wanted = name ? name : "";
    auto reset =
        segment->segment.Reset([&](const MetricSnapshot& m) { return !name || m.name == wanted; });
    if (n_reset) *n_reset = reset.size();
  });
}

shmstats_status shmstats_segment_retire_exited(shmstats_segment* segment, uint32_t* retired) {
  if (!segment) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment is NULL");
  return Guard([&] {
    uint32_t n = segment->segment.RetireExited();
    if (retired) *retired = n;
  });
}

shmstats_status shmstats_segment_delete(shmstats_segment* segment, const char* name,
                                        const shmstats_label* labels, size_t n_labels,
                                        int all_labels, uint32_t* deleted) {
  if (!segment) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment is NULL");
  return Guard([&] {
    Require(name != nullptr, "the metric name is NULL");
    Require(n_labels == 0 || labels != nullptr, "labels is NULL but n_labels is not 0");
    Labels want;
    for (size_t i = 0; i < n_labels; ++i) {
      Require(labels[i].name && labels[i].value, "a label name or value is NULL");
      want.emplace_back(labels[i].name, labels[i].value);
    }
    std::sort(want.begin(), want.end());
    const std::string_view family = name;
    auto n = segment->segment
                 .Delete([&](const MetricSnapshot& m) {
                   return m.name == family && (all_labels || m.labels == want);
                 })
                 .size();
    if (deleted) *deleted = static_cast<uint32_t>(n);
  });
}

shmstats_status shmstats_segment_set_job(shmstats_segment* segment, const char* job) {
  if (!segment) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment is NULL");
  if (!job) return Fail(SHMSTATS_INVALID_ARGUMENT, "job is NULL");
  return Guard([&] { segment->segment.SetJob(job); });
}

shmstats_status shmstats_segment_set_process_metrics(shmstats_segment* segment, int allow) {
  if (!segment) return Fail(SHMSTATS_INVALID_ARGUMENT, "segment is NULL");
  return Guard([&] { segment->segment.SetProcessMetrics(allow != 0); });
}

}  // extern "C"
