// SPDX-License-Identifier: Apache-2.0
/* shmstats C ABI: record into a shmstats segment from C and from any language with
 * a foreign-function interface (Python's ctypes, Go's cgo, Rust, Node...).
 *
 * Stability: within a major version (the shared library's soname,
 * libshmstats.so.<major>) every function and type here stays, with the same
 * meaning; structs passed in carry their `size`, so later minor versions add fields
 * at the end without breaking callers built against this header, and a library
 * refuses (SHMSTATS_INVALID_ARGUMENT) options newer than itself that are set.
 *
 * Set-up (open, create, register, read, reset) returns a shmstats_status; on
 * failure shmstats_last_error() describes the cause for the calling thread.
 * Recording never fails: the shmstats_counter_inc, shmstats_gauge_* and
 * shmstats_histogram_observe functions below are `static inline` over the slot
 * pointers that registration returns, relaxed atomic operations on mapped memory,
 * exactly what the C++ handles in shmstats/metrics.h do, byte for byte the same
 * slot effects (striped metrics find their CPU in glibc's rseq area, as in C++): no
 * system call, lock or allocation. Timers (shmstats_timer_now and
 * shmstats_histogram_observe_elapsed) read the C++ timers' calibrated clock through
 * two exported functions: no system call once calibrated. The shmstats_ffi_*
 * functions are the recording operations exported, for FFIs that cannot compile C.
 *
 * Thread-safety: every function may be called from any thread; handles are plain
 * values, valid while the segment they came from is open.
 * Compiles as C11 (-std=c11 -pedantic) and as C++. */
#ifndef SHMSTATS_SHMSTATS_C_H_
#define SHMSTATS_SHMSTATS_C_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#endif

#ifdef __cplusplus
#include <sched.h>

#include <atomic>
#define SHMSTATS_ALIGNAS(n) alignas(n)
typedef std::atomic<uint64_t> shmstats_slot;
#define SHMSTATS_LOAD(p) (p)->load(std::memory_order_relaxed)
#define SHMSTATS_STORE(p, v) (p)->store((v), std::memory_order_relaxed)
#define SHMSTATS_FETCH_ADD(p, v) (p)->fetch_add((v), std::memory_order_relaxed)
#define SHMSTATS_CAS_WEAK(p, old, v) \
  (p)->compare_exchange_weak(*(old), (v), std::memory_order_relaxed)
extern "C" {
#else
#include <stdatomic.h>
#define SHMSTATS_ALIGNAS(n) _Alignas(n)
/* glibc declares it only under _GNU_SOURCE; the same declaration. */
int sched_getcpu(void);
typedef _Atomic uint64_t shmstats_slot;
#define SHMSTATS_LOAD(p) atomic_load_explicit((p), memory_order_relaxed)
#define SHMSTATS_STORE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define SHMSTATS_FETCH_ADD(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define SHMSTATS_CAS_WEAK(p, old, v) \
  atomic_compare_exchange_weak_explicit((p), (old), (v), memory_order_relaxed, memory_order_relaxed)
#endif

/* The recording functions are inlined whatever the compiler's size heuristics say,
 * as in C++ (gcc -O2 otherwise outlines part of observe); the binary search of
 * explicit buckets no table narrows stays out of line, as in C++, so that the
 * handle's fields stay in registers in a recording loop. */
#if defined(__GNUC__) || defined(__clang__)
#define SHMSTATS_C_HOT static inline __attribute__((always_inline))
#define SHMSTATS_C_OUT_OF_LINE static __attribute__((noinline, unused))
#else
#define SHMSTATS_C_HOT static inline
#define SHMSTATS_C_OUT_OF_LINE static inline
#endif

/* The version of this header; shmstats_abi_version() is the library's. */
#define SHMSTATS_C_ABI_MAJOR 0
#define SHMSTATS_C_ABI_MINOR 5
/* 0.2: the handles follow the C++ handles' new layout (striped
 * counters, histogram lookup tables): rebuild callers of 0.1 (major 0 is not yet
 * binary-stable across minor versions for the handles); options keep their layout,
 * with `striping` in what was reserved[0]; timers (shmstats_timer_*).
 * 0.3, an addition: process-scoped series (`scope` in what was
 * reserved[1] of shmstats_metric_options; zero keeps 0.2's behaviour) and
 * shmstats_segment_retire_exited. Callers built against 0.2 keep working unchanged.
 * 0.4, an addition: float counters (shmstats_float_counter, counters of doubles as
 * prometheus_client keeps them) and, at the end of shmstats_metric_value,
 * `fractional` and `counter_double`; shmstats_segment_replaced; exponential
 * histograms on the Prometheus native schema (`zero_threshold` in the options, the
 * histogram handle's `coarse_shift` and `zero_bits`, `exponential`, `first_index` and
 * `zero_threshold` at the end of shmstats_metric_value) and
 * shmstats_ffi_histogram_bucket_index. Rebuild callers of 0.3 that use histogram
 * handles (their layout changed); other callers of 0.3 keep working.
 * 0.5, an addition: series lifecycle. shmstats_segment_delete; in what was
 * reserved[0] of shmstats_metric_options, `ttl_seconds` and `family_limit`; in what
 * was reserved[0] of shmstats_segment_options, `family_limit`. Zero keeps 0.4's
 * behaviour. Exemplars (shmstats_*_exemplar), stored with their series and shown in
 * OpenMetrics exposition; `gauge_combine` (in what was reserved[1] of
 * shmstats_metric_options) and shmstats_gauge_stamp. Callers built against 0.4 keep
 * working unchanged. Producer records (shmstats_segment_set_job,
 * shmstats_segment_set_process_metrics). */

typedef enum shmstats_status {
  SHMSTATS_OK = 0,
  SHMSTATS_INVALID_ARGUMENT = 1, /* a name, label, bound or option that breaks the rules */
  SHMSTATS_NOT_FOUND = 2,        /* no such segment */
  SHMSTATS_ALREADY_EXISTS = 3,   /* create on a name that is taken */
  SHMSTATS_TYPE_MISMATCH = 4,    /* the series exists with another type or buckets */
  SHMSTATS_FULL = 5,             /* no room for another metric */
  SHMSTATS_INCOMPATIBLE = 6,     /* another format version, or not a shmstats segment */
  SHMSTATS_CORRUPT = 7,          /* the segment breaks the format's invariants */
  SHMSTATS_PERMISSION = 8,       /* the operating system refused access */
  SHMSTATS_TIMEOUT = 9,          /* a segment that never finished initialising */
  SHMSTATS_SYSTEM = 10,          /* another operating-system failure */
  SHMSTATS_NO_MEMORY = 11        /* allocation failed */
} shmstats_status;

typedef enum shmstats_type {
  SHMSTATS_COUNTER = 1,
  SHMSTATS_GAUGE = 2,
  SHMSTATS_HISTOGRAM = 3
} shmstats_type;

typedef enum shmstats_bucket_kind {
  SHMSTATS_BUCKETS_EXPONENTIAL = 0, /* the default: bounded relative error */
  SHMSTATS_BUCKETS_EXPLICIT = 1     /* Prometheus-style upper bounds */
} shmstats_bucket_kind;

/* Returns the ABI version of the loaded library: major * 1000 + minor. */
uint32_t shmstats_abi_version(void);
/* What the last failing call on this thread said; "" if none. Valid until the next
 * call on this thread. */
const char* shmstats_last_error(void);

/* ---- segments ---- */

typedef struct shmstats_segment shmstats_segment; /* opaque */

typedef struct shmstats_segment_options {
  uint32_t size;        /* sizeof(shmstats_segment_options): set by ..._init */
  uint32_t max_metrics; /* descriptors (series) */
  uint32_t max_slots;   /* 8-byte value slots */
  uint32_t mode;        /* permission bits, e.g. 0640; umask does not apply */
  int64_t group;        /* chgrp at creation; -1 keeps the creator's group */
  /* Since 0.5: series a family may have before new label sets go to its overflow
   * series (see shmstats_metric_options.family_limit); 0: no limit. */
  uint32_t family_limit;
  uint32_t reserved0;   /* zero */
  uint64_t reserved[3]; /* zero */
} shmstats_segment_options;

/* The defaults (4096 metrics, 2^18 slots, mode 0640, no group). */
void shmstats_segment_options_init(shmstats_segment_options* options);

/* `options` may be NULL for the defaults. */
shmstats_status shmstats_segment_create(const char* name, const shmstats_segment_options* options,
                                        shmstats_segment** out);
shmstats_status shmstats_segment_open(const char* name, int read_only, shmstats_segment** out);
shmstats_status shmstats_segment_open_or_create(const char* name,
                                                const shmstats_segment_options* options,
                                                shmstats_segment** out);
/* SHMSTATS_NOT_FOUND if there was no such segment. */
shmstats_status shmstats_segment_remove(const char* name);
/* Since 0.4: 1 when the segment's name no longer names this mapping (the segment was
 * removed, or removed and created again), else 0: a long-lived process then opens it
 * again and registers its series anew. One stat() of /dev/shm/<name>. */
int shmstats_segment_replaced(const shmstats_segment* segment);
/* Unmaps the segment: handles registered from it must no longer be used. NULL is fine. */
void shmstats_segment_close(shmstats_segment* segment);

/* ---- registration ---- */

typedef struct shmstats_label {
  const char* name;
  const char* value;
} shmstats_label;

/* What a metric is called and how it is laid out. Initialise with
 * shmstats_metric_options_init, then set the fields you need. Strings are copied. */
typedef struct shmstats_metric_options {
  uint32_t size;  /* sizeof(shmstats_metric_options): set by ..._init */
  uint32_t flags; /* reserved: zero */
  const char* name;
  const shmstats_label* labels;
  size_t n_labels;
  const char* help; /* NULL: none */
  const char* unit; /* NULL: none */
  /* histograms */
  int32_t bucket_kind;  /* shmstats_bucket_kind */
  int32_t schema;       /* exponential: -4..8, 2^schema buckets an octave (default 3) */
  double min;           /* exponential: lowest value of the range (default 1e-6) */
  double max;           /* exponential: highest value of the range (default 1e4) */
  const double* bounds; /* explicit: strictly increasing finite bounds */
  size_t n_bounds;
  /* Since 0.2, counters and histograms: SHMSTATS_STRIPING_SHARED (0, the default)
   * or SHMSTATS_STRIPING_PER_CPU. The first registration of a series decides. */
  uint64_t striping;
  /* Since 0.3: SHMSTATS_SCOPE_SHARED (0, the default) or SHMSTATS_SCOPE_PROCESS, as
   * shmstats::Scope (shmstats/metric_spec.h): a process-scoped series belongs to the
   * calling process; readers add it into the shared series of the same name and
   * labels; once the process has exited its counter and histogram values are folded
   * into that series and its gauge disappears. Its handle must not be used in a
   * child after fork(): the child registers again. */
  uint64_t scope;
  /* Since 0.4, exponential histograms: |v| <= zero_threshold counts in the zero
   * bucket; 0 means the default, the smallest normal double (2.2250738585072014e-308).
   * See shmstats::ExponentialBuckets (shmstats/metric_spec.h). */
  double zero_threshold;
  /* Since 0.5, as shmstats::MetricSpec: shmstatsd deletes the series once its values
   * have not changed for ttl_seconds (0: never); at most family_limit series of this
   * name (0: the segment's default), past which a new label set gets the family's
   * overflow series, labelled otel_metric_overflow="true", and is counted. */
  uint32_t ttl_seconds;
  uint32_t family_limit;
  /* Since 0.5, gauges: how readers combine the process-scoped gauges of a key into
   * its shared series (shmstats::GaugeCombine): SHMSTATS_GAUGE_SUM (0, the default),
   * _MAX, _MIN or _MOST_RECENT (then each write also stores its time with
   * shmstats_gauge_stamp), or'ed with SHMSTATS_GAUGE_LIVE_ONLY to show the shared
   * series only while a live process's gauge adds into it. The first registration of
   * the shared series decides; a process gauge registered otherwise is
   * SHMSTATS_TYPE_MISMATCH. */
  uint64_t gauge_combine;
  /* Room for options of later minor versions: zero means "the default", so callers
   * that never set them keep working. */
  uint64_t reserved[3];
} shmstats_metric_options;

/* shmstats_metric_options.gauge_combine (since 0.5). */
#define SHMSTATS_GAUGE_SUM 0
#define SHMSTATS_GAUGE_MAX 1
#define SHMSTATS_GAUGE_MIN 2
#define SHMSTATS_GAUGE_MOST_RECENT 3
#define SHMSTATS_GAUGE_LIVE_ONLY 0x80

void shmstats_metric_options_init(shmstats_metric_options* options);

/* shmstats_metric_options.striping, as shmstats::Striping: per-CPU striping gives
 * each CPU its own cache lines (counters: one slot each; histograms: sum and
 * buckets each), so that threads recording at once on many CPUs do not contend;
 * readers sum the stripes. Costs memory (a stripe per CPU, up to a power of two). */
#define SHMSTATS_STRIPING_SHARED 0
#define SHMSTATS_STRIPING_PER_CPU 1

/* shmstats_metric_options.scope (since 0.3). */
#define SHMSTATS_SCOPE_SHARED 0
#define SHMSTATS_SCOPE_PROCESS 1

/* Retires the process-scoped series of processes that have exited (folds their
 * counters and histograms into the shared series, drops their gauges, makes their
 * descriptors reusable); shmstatsd does it every tick. *retired (may be NULL)
 * receives how many. Requires a segment opened for writing. Since 0.3. */
shmstats_status shmstats_segment_retire_exited(shmstats_segment* segment, uint32_t* retired);

/* Deletes the shared series `name` with exactly these labels (any order), or with
 * all_labels != 0 every series named `name` (labels ignored), as
 * shmstats::Segment::Delete: readers stop showing them at once; registering the same
 * name and labels again brings a series back from zero, in its own room, and handles
 * taken before record into it again (until then what they record is not shown; a
 * handle never writes into another series). *deleted (may be NULL) receives how
 * many; deleting nothing is not an error. Requires a segment opened for writing.
 * Since 0.5. */
shmstats_status shmstats_segment_delete(shmstats_segment* segment, const char* name,
                                        const shmstats_label* labels, size_t n_labels,
                                        int all_labels, uint32_t* deleted);

/* Producer records (statsctl ps): a process's first registration leaves a record
 * (pid, start time, user, command, job, attach time). Its job name (at most 56 bytes
 * of UTF-8, no control characters; "" for none; default $SHMSTATS_JOB) and whether
 * shmstatsd may export its process metrics (CPU, memory, fds, threads; default yes
 * unless $SHMSTATS_PROCESS_METRICS is 0, no, false or off). Either may be called
 * before or after the first registration. Requires a segment opened for writing.
 * Since 0.5. */
shmstats_status shmstats_segment_set_job(shmstats_segment* segment, const char* job);
shmstats_status shmstats_segment_set_process_metrics(shmstats_segment* segment, int allow);

/* The handles mirror the C++ handles of shmstats/metrics.h field for field (the
 * library refuses to compile if they diverge: see c_api.cc). Treat the fields as
 * private: they are here so that recording can be inline. */
typedef struct shmstats_counter {
  shmstats_slot* slot;  /* stripe 0 */
  uint32_t stripe_mask; /* stripes - 1 (a power of two); 0: not striped */
} shmstats_counter;
typedef struct shmstats_gauge {
  shmstats_slot* slot;
} shmstats_gauge;
/* Since 0.4: a counter holding a double (shmstats::FloatCounter). */
typedef struct shmstats_float_counter {
  shmstats_slot* slot;
} shmstats_float_counter;

/* One cell of an explicit histogram's lookup table (built by the library at
 * registration, in process memory): how many bounds lie below every value of the
 * cell, and the next two bounds (+Inf past the last). */
typedef struct shmstats_bucket_cell {
  SHMSTATS_ALIGNAS(32) double candidate[2];
  uint64_t first;
} shmstats_bucket_cell;

/* The histogram kinds of shmstats_histogram.kind. */
#define SHMSTATS_HISTOGRAM_EXPONENTIAL 0 /* native buckets from the bits of the value */
#define SHMSTATS_HISTOGRAM_TABLE 1       /* explicit bounds through the lookup table */
#define SHMSTATS_HISTOGRAM_SEARCH 2      /* explicit bounds by binary search */

/* The fields of shmstats::Histogram, in its order. */
typedef struct shmstats_histogram {
  shmstats_slot* slots; /* [sum][count of bucket 0 ... +Inf] of stripe 0 */
  union {
    const uint64_t* native;            /* EXPONENTIAL: the schema's cells (the library's) */
    const shmstats_bucket_cell* cells; /* TABLE: owned by the segment handle */
    const shmstats_slot* bounds;       /* SEARCH: the finite bounds in the segment */
  };
  int64_t min_key;        /* EXPONENTIAL: key of the first positive bucket; TABLE: key of cell 0 */
  int64_t last;           /* EXPONENTIAL: positive buckets; TABLE: key of the last cell */
  int32_t shift;          /* EXPONENTIAL: max(schema, 0); TABLE: log2 of a cell's keys */
  uint16_t n_bounds;      /* SEARCH: number of finite bounds */
  uint8_t kind;           /* SHMSTATS_HISTOGRAM_* */
  uint8_t stripe_mask;    /* stripes - 1 (a power of two); 0: not striped */
  uint16_t stripe_stride; /* slots from one stripe to the next */
  uint8_t coarse_shift;   /* EXPONENTIAL (since 0.4): max(-schema, 0) */
  uint64_t zero_bits;     /* EXPONENTIAL (since 0.4): the zero threshold's bits */
} shmstats_histogram;

/* Find-or-create by (name, labels), as Segment::Register* in C++. On failure *out
 * is left unbound (records go nowhere) and the status says why. */
shmstats_status shmstats_register_counter(shmstats_segment* segment,
                                          const shmstats_metric_options* options,
                                          shmstats_counter* out);
/* Since 0.4: a counter of doubles: any non-negative increment, fractions kept,
 * integers exact to 2^53. Its own kind of series: SHMSTATS_TYPE_MISMATCH where the
 * name and labels are an integer counter, and the reverse. Shared scope only, never
 * striped (SHMSTATS_INVALID_ARGUMENT otherwise). */
shmstats_status shmstats_register_float_counter(shmstats_segment* segment,
                                                const shmstats_metric_options* options,
                                                shmstats_float_counter* out);
shmstats_status shmstats_register_gauge(shmstats_segment* segment,
                                        const shmstats_metric_options* options,
                                        shmstats_gauge* out);
shmstats_status shmstats_register_histogram(shmstats_segment* segment,
                                            const shmstats_metric_options* options,
                                            shmstats_histogram* out);

/* ---- recording: inline, never fails ---- */

SHMSTATS_C_HOT uint64_t shmstats_detail_bits(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}
SHMSTATS_C_HOT double shmstats_detail_double(uint64_t b) {
  double v;
  memcpy(&v, &b, sizeof v);
  return v;
}
SHMSTATS_C_HOT void shmstats_detail_add_double(shmstats_slot* s, double d) {
  uint64_t old = SHMSTATS_LOAD(s);
  while (!SHMSTATS_CAS_WEAK(s, &old, shmstats_detail_bits(shmstats_detail_double(old) + d))) {
  }
}

/* The CPU this thread runs on, for choosing a stripe, as shmstats::detail::CurrentCpu:
 * glibc (2.35 and later) keeps it in the thread's rseq area, which the kernel
 * updates on every migration, so reading it is one load; where rseq is not
 * registered, sched_getcpu() (the vDSO's getcpu on x86-64: no system call either).
 * A stale answer only costs speed: any stripe is correct. */
SHMSTATS_C_HOT unsigned shmstats_detail_current_cpu(void) {
  int cpu;
#if defined(RSEQ_SIG) && (defined(__x86_64__) || defined(__aarch64__))
  const volatile struct rseq* rs =
      (const volatile struct rseq*)((char*)__builtin_thread_pointer() + __rseq_offset);
  int32_t rseq_cpu = (int32_t)rs->cpu_id;
  if (rseq_cpu >= 0) return (unsigned)rseq_cpu;
#endif
  cpu = sched_getcpu();
  return cpu >= 0 ? (unsigned)cpu : 0u;
}

SHMSTATS_C_HOT void shmstats_counter_inc(shmstats_counter c, uint64_t n) {
  shmstats_slot* slot = c.slot;
  if (c.stripe_mask != 0) slot += 8 * (shmstats_detail_current_cpu() & c.stripe_mask);
  SHMSTATS_FETCH_ADD(slot, n);
}
/* Adds d (a CAS loop, as gauges add); a negative or NaN d is ignored. */
SHMSTATS_C_HOT void shmstats_float_counter_inc(shmstats_float_counter c, double d) {
  if (d >= 0) shmstats_detail_add_double(c.slot, d);
}
SHMSTATS_C_HOT void shmstats_gauge_set(shmstats_gauge g, double v) {
  SHMSTATS_STORE(g.slot, shmstats_detail_bits(v));
}
SHMSTATS_C_HOT void shmstats_gauge_add(shmstats_gauge g, double d) {
  shmstats_detail_add_double(g.slot, d);
}
SHMSTATS_C_HOT void shmstats_gauge_sub(shmstats_gauge g, double d) {
  shmstats_detail_add_double(g.slot, -d);
}
/* Since 0.5: a SHMSTATS_GAUGE_MOST_RECENT process gauge's write time (Unix ns),
 * stored after each set or add so that readers pick the latest value. */
SHMSTATS_C_HOT void shmstats_gauge_stamp(shmstats_gauge g, uint64_t unix_ns) {
  SHMSTATS_STORE(g.slot + 1, unix_ns);
}

/* Native exponential buckets, as shmstats::Histogram::ExponentialIndex (the algorithm
 * of docs/segment-format.md): octave from the exponent, sub-bucket from one table cell
 * and one comparison, clamped to the range, mirrored about the zero bucket by sign. */
SHMSTATS_C_HOT size_t shmstats_detail_exponential_index(const shmstats_histogram* h, double v) {
  uint64_t bits = shmstats_detail_bits(v);
  uint64_t mag = bits & ~((uint64_t)1 << 63);
  uint64_t mantissa = mag & (((uint64_t)1 << 52) - 1);
  uint64_t cell = h->native[mantissa >> (51 - h->shift)];
  uint64_t sub = (cell & 0x7ff) + (uint64_t)((mantissa << 11) > cell);
  int64_t key =
      (int64_t)(((((mag >> 52) + 1) << h->shift) + sub + (((uint64_t)1 << h->coarse_shift) - 1)) >>
                h->coarse_shift);
  int64_t c = key - h->min_key;
  uint64_t d, neg;
  c = c < 0 ? 0 : c > h->last ? h->last : c;
  d = ((uint64_t)c + 1) & ((uint64_t)0 - (uint64_t)(mag > h->zero_bits));
  neg = (uint64_t)0 - (bits >> 63);
  return (size_t)((uint64_t)h->last + 1 + ((d ^ neg) - neg));
}

/* Explicit bounds through the lookup table: the value's bits, made into a key that
 * orders like the doubles, pick a cell, which holds the two bounds that may lie
 * below v. */
SHMSTATS_C_HOT size_t shmstats_detail_table_index(const shmstats_histogram* h, double v) {
  int64_t bits = (int64_t)shmstats_detail_bits(v);
  int64_t key = bits ^ (int64_t)((uint64_t)(bits >> 63) >> 1);
  const shmstats_bucket_cell* c;
  key = key < h->min_key ? h->min_key : h->last < key ? h->last : key;
  c = &h->cells[((uint64_t)key - (uint64_t)h->min_key) >> h->shift];
  return (size_t)(c->first + (uint64_t)(c->candidate[0] < v) + (uint64_t)(c->candidate[1] < v));
}

/* Explicit bounds no table narrows: the first bound >= v, or n_bounds (+Inf), by a
 * binary search whose step is masked in. */
SHMSTATS_C_OUT_OF_LINE size_t shmstats_detail_search_index(const shmstats_histogram* h, double v) {
  const shmstats_slot* bounds = h->bounds;
  size_t n = h->n_bounds, base = 0;
  while (n > 1) {
    size_t half = n / 2;
    base += half & ((size_t)0 -
                    (size_t)(shmstats_detail_double(SHMSTATS_LOAD(&bounds[base + half - 1])) < v));
    n -= half;
  }
  return base + (size_t)(shmstats_detail_double(SHMSTATS_LOAD(&bounds[base])) < v);
}

/* The bucket shmstats_histogram_observe counts v in: explicit: the first whose bound
 * is >= v, or the last (+Inf); exponential: see shmstats::ExponentialBuckets. v must
 * not be NaN. */
SHMSTATS_C_HOT size_t shmstats_histogram_bucket_index(const shmstats_histogram* h, double v) {
  if (h->kind == SHMSTATS_HISTOGRAM_EXPONENTIAL) return shmstats_detail_exponential_index(h, v);
  return h->kind == SHMSTATS_HISTOGRAM_TABLE ? shmstats_detail_table_index(h, v)
                                             : shmstats_detail_search_index(h, v);
}

/* Observe(NaN) is ignored, as in C++. A striped histogram records into the running
 * CPU's stripe. */
SHMSTATS_C_HOT void shmstats_histogram_observe(const shmstats_histogram* h, double v) {
  shmstats_slot* slots;
  if (v != v) return;
  slots = h->slots;
  if (h->stripe_mask != 0)
    slots += (size_t)h->stripe_stride * (shmstats_detail_current_cpu() & h->stripe_mask);
  shmstats_detail_add_double(&slots[0], v); /* first, as in C++: see Histogram::Observe */
  SHMSTATS_FETCH_ADD(&slots[1 + shmstats_histogram_bucket_index(h, v)], 1);
}

/* ---- exemplars (since 0.5) ---- */

/* Stores an exemplar (OpenMetrics) with the series of a counter, or with the bucket
 * of a histogram's series that observing `value` counts in, replacing the one there:
 * `labels` (at most 128 UTF-8 characters of names and values together), `value`
 * (the increment, or the observation) and the current time, as
 * shmstats::Segment::StoreExemplar. It does not record: call the inline inc or
 * observe as well. Safe against concurrent writers and readers in any process; not
 * the recording hot path (it validates, looks the series up once per handle, reads
 * the clock). SHMSTATS_OK when stored, or when another exemplar of the same record
 * was being stored at that instant (that one is kept); SHMSTATS_FULL when the
 * segment's exemplar region is full (the exemplar is dropped and counted);
 * SHMSTATS_INVALID_ARGUMENT for labels that break the rules, a NaN observation, or
 * a handle that is not a shared series of this segment. */
shmstats_status shmstats_counter_exemplar(shmstats_segment* segment, const shmstats_counter* c,
                                          double value, const shmstats_label* labels,
                                          size_t n_labels);
shmstats_status shmstats_float_counter_exemplar(shmstats_segment* segment,
                                                const shmstats_float_counter* c, double value,
                                                const shmstats_label* labels, size_t n_labels);
shmstats_status shmstats_histogram_exemplar(shmstats_segment* segment, const shmstats_histogram* h,
                                            double value, const shmstats_label* labels,
                                            size_t n_labels);

/* ---- timers: the clock of the C++ ScopedTimer and TimeCall ---- */

/* The timers' clocks (shmstats::TimerClock). */
#define SHMSTATS_TIMER_TSC 1          /* the time-stamp counter, rate calibrated once */
#define SHMSTATS_TIMER_STEADY_CLOCK 2 /* CLOCK_MONOTONIC through the vDSO */

/* Chooses and calibrates the clock once per process (shmstats::CalibrateTimerClock:
 * the TSC where it is invariant and the kernel's clocksource, else steady_clock, or
 * steady_clock when SHMSTATS_TIMER_CLOCK=steady_clock) and returns it. The first
 * shmstats_timer_now() calls it; call it at start-up to keep its ~5 ms and its
 * system calls (it reads /proc and /sys, sleeps) off the first timed operation,
 * e.g. before entering a seccomp sandbox. Thread-safe. */
int shmstats_timer_calibrate(void);
/* Makes timers use `clock` (SHMSTATS_TIMER_*) from now on; returns 0, changing
 * nothing, when it cannot be used here (no usable TSC, or an unknown clock), 1 when
 * it is in use. */
int shmstats_timer_set_clock(int clock);
/* Ticks of the timers' clock (TSC cycles or nanoseconds): an exported function,
 * one call and RDTSC, no system call once calibrated. */
uint64_t shmstats_timer_now(void);
/* Seconds from `start` (a shmstats_timer_now() of this process) to now. */
double shmstats_timer_elapsed(uint64_t start);

/* Observes the seconds since `start` (from shmstats_timer_now()) into h, as the C++
 * ScopedTimer does at its end:
 *   uint64_t start = shmstats_timer_now();
 *   ... the work ...
 *   shmstats_histogram_observe_elapsed(&latency, start); */
SHMSTATS_C_HOT void shmstats_histogram_observe_elapsed(const shmstats_histogram* h,
                                                       uint64_t start) {
  shmstats_histogram_observe(h, shmstats_timer_elapsed(start));
}

/* The same operations exported, for FFIs that cannot inline C. */
void shmstats_ffi_counter_inc(const shmstats_counter* c, uint64_t n);
void shmstats_ffi_float_counter_inc(const shmstats_float_counter* c, double d); /* 0.4 */
void shmstats_ffi_gauge_set(const shmstats_gauge* g, double v);
void shmstats_ffi_gauge_add(const shmstats_gauge* g, double d);
void shmstats_ffi_histogram_observe(const shmstats_histogram* h, double v);
/* The bucket (0 .. n_buckets-1, in shmstats_metric_value.bucket_counts order) that
 * observing v counts in; -1 for NaN (not counted). Since 0.4: bindings that port the
 * index algorithm compare against it. */
int64_t shmstats_ffi_histogram_bucket_index(const shmstats_histogram* h, double v);

/* ---- reading and resetting ---- */

/* One metric as read. Owned by its snapshot. Later minor versions add fields at
 * the end only. */
typedef struct shmstats_metric_value {
  const char* name;
  const shmstats_label* labels; /* sorted by name */
  size_t n_labels;
  int32_t type;   /* shmstats_type */
  int32_t schema; /* exponential histograms (see exponential); 0 otherwise */
  const char* help;
  const char* unit;
  uint64_t counter;              /* counters */
  double gauge;                  /* gauges */
  const double* bounds;          /* histograms: n_buckets - 1 finite upper bounds */
  const uint64_t* bucket_counts; /* histograms: per bucket (not cumulative), +Inf last */
  size_t n_buckets;
  double sum;
  uint64_t count;
  /* Since 0.4: a float counter's value (then `counter` is its whole part), or
   * `counter` as a double; fractional is 1 for float counters, else 0. */
  double counter_double;
  int32_t fractional;
  /* Since 0.4, histograms: 1 for exponential (native) buckets, laid out as
   * shmstats::HistogramValue says (shmstats/snapshot.h); first_index is the native
   * index of the first positive bucket. */
  int32_t exponential;
  int64_t first_index;
  double zero_threshold;
} shmstats_metric_value;

typedef struct shmstats_snapshot shmstats_snapshot; /* opaque */

/* Copies every published metric. */
shmstats_status shmstats_snapshot_read(const shmstats_segment* segment, shmstats_snapshot** out);
size_t shmstats_snapshot_count(const shmstats_snapshot* snapshot);
/* NULL when i >= count. */
const shmstats_metric_value* shmstats_snapshot_metric(const shmstats_snapshot* snapshot, size_t i);
void shmstats_snapshot_free(shmstats_snapshot* snapshot);

/* Atomically zeroes every series named `name` (every series when name is NULL) and
 * stores how many were reset in *n_reset (may be NULL). Increments racing the reset
 * are never lost. */
shmstats_status shmstats_reset(shmstats_segment* segment, const char* name, size_t* n_reset);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SHMSTATS_SHMSTATS_C_H_ */
