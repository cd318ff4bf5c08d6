// SPDX-License-Identifier: Apache-2.0
/* The native half of the shmstats Node.js package: set-up only. It opens segments
 * and registers series through the C ABI (shmstats/shmstats_c.h), hands JavaScript
 * each series' slots as an external ArrayBuffer over the library's mapping (for
 * reads and plain stores), and maps the segment a second time over a
 * WebAssembly.Memory (mapping.h), where lib/wasm.js records with 64-bit atomics: no
 * call into this addon and no system call per record.
 *
 * Ownership: a segment stays mapped until close() is called on it (never by the
 * garbage collector), because the ArrayBuffers handed out point into it; the
 * JavaScript side stops using them before it calls close(). Errors throw a JS Error
 * whose code is the shmstats_status name and whose message is shmstats_last_error(). */
#define NAPI_VERSION 8
#include <node_api.h>
#include <shmstats/shmstats_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"

#define CHECK(env, call)                                                                         \
  do {                                                                                           \
    if ((call) != napi_ok) {                                                                     \
      const napi_extended_error_info* info_ = NULL;                                              \
      napi_get_last_error_info((env), &info_);                                                   \
      napi_throw_error(                                                                          \
          (env), "ERR_SHMSTATS_NAPI",                                                            \
          info_ && info_->error_message ? info_->error_message : "shmstats: N-API call failed"); \
      return NULL;                                                                               \
    }                                                                                            \
  } while (0)

static const char* StatusName(shmstats_status s) {
  static const char* const kNames[] = {
      "OK",     "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "TYPE_MISMATCH",
      "FULL",   "INCOMPATIBLE",     "CORRUPT",   "PERMISSION",     "TIMEOUT",
      "SYSTEM", "NO_MEMORY"};
  return (unsigned)s < sizeof kNames / sizeof kNames[0] ? kNames[s] : "UNKNOWN";
}

/* Throws for a failed set-up call; returns NULL so callers can `return Fail(...)`. */
static napi_value Fail(napi_env env, const char* what, shmstats_status s) {
  char code[48], message[1024];
  snprintf(code, sizeof code, "SHMSTATS_%s", StatusName(s));
  snprintf(message, sizeof message, "shmstats: %s: %s", what, shmstats_last_error());
  napi_throw_error(env, code, message);
  return NULL;
}

/* A JS string argument copied into a malloc'd C string (NULL for null/undefined
 * when `nullable`); NULL with an exception pending otherwise. */
static char* TakeString(napi_env env, napi_value v, int nullable, int* failed) {
  napi_valuetype t;
  size_t n = 0;
  char* s;
  *failed = 0;
  if (napi_typeof(env, v, &t) != napi_ok) goto bad;
  if (nullable && (t == napi_null || t == napi_undefined)) return NULL;
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) goto bad;
  s = malloc(n + 1);
  if (s == NULL || napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) {
    free(s);
    goto bad;
  }
  return s;
bad:
  *failed = 1;
  napi_throw_type_error(env, NULL, "shmstats: expected a string");
  return NULL;
}

static shmstats_segment* SegmentOf(napi_env env, napi_value v) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "shmstats: not an open segment");
    return NULL;
  }
  return p;
}

/* open(name) -> segment: opens the segment, creating it with the defaults if missing. */
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int failed;
  char* name;
  shmstats_segment* seg = NULL;
  shmstats_status s;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) argv[0] = NULL;
  name = argc < 1 ? NULL : TakeString(env, argv[0], 0, &failed);
  if (name == NULL) return NULL;
  s = shmstats_segment_open_or_create(name, NULL, &seg);
  free(name);
  if (s != SHMSTATS_OK) return Fail(env, "opening the segment", s);
  if (napi_create_external(env, seg, NULL, NULL, &out) != napi_ok) {
    shmstats_segment_close(seg);
    CHECK(env, napi_generic_failure);
  }
  return out;
}

/* close(segment): unmaps it. The caller no longer uses buffers registered from it. */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  shmstats_segment* seg;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || (seg = SegmentOf(env, argv[0])) == NULL) return NULL;
  shmstats_segment_close(seg);
  return NULL;
}

/* A view of `n` slots at `slot` as an ArrayBuffer; the memory belongs to the mapping. */
static napi_value SlotBuffer(napi_env env, shmstats_slot* slot, size_t n) {
  napi_value buffer;
  CHECK(env, napi_create_external_arraybuffer(env, (void*)slot, n * sizeof(uint64_t), NULL, NULL,
                                              &buffer));
  return buffer;
}

static napi_value Number(napi_env env, double v) {
  napi_value out;
  CHECK(env, napi_create_double(env, v, &out));
  return out;
}

/* register(segment, type, name, labels, help, unit, scope, bucketKind, bounds, min,
 *          max, schema, zeroThreshold)
 *   -> [buffer, kind, shift, minKey, last, offset, coarseShift, zeroThreshold, cells]
 * type: 1 counter, 2 gauge, 3 histogram (shmstats_type); labels: a flat array of
 * names and values; bounds: a Float64Array (explicit) or null; schema and
 * zeroThreshold: exponential (0: the library's default threshold). The buffer covers
 * the series' slots of stripe 0: one for counters and gauges, [sum][buckets...+Inf]
 * for histograms; kind/shift/minKey/last/coarseShift are the histogram handle's
 * fields (0 otherwise), zeroThreshold the double of its zero_bits; cells a copy of
 * its native cells (2^(shift+1) u64s; exponential only, null otherwise); offset is
 * where the slots lie in the segment's file. */
static napi_value Register(napi_env env, napi_callback_info info) {
  size_t argc = 13, i, n_labels = 0, n_slots = 1;
  napi_value argv[13], result, labels_v, item, cells = NULL;
  shmstats_segment* seg;
  shmstats_metric_options opts;
  shmstats_label* labels = NULL;
  char *name = NULL, *help = NULL, *unit = NULL;
  int32_t type = 0, bucket_kind = 0, schema = 0, failed = 0;
  uint32_t n_flat = 0;
  int64_t scope = 0;
  shmstats_status s = SHMSTATS_OK;
  shmstats_counter counter = {0};
  shmstats_gauge gauge = {0};
  shmstats_histogram hist;
  shmstats_slot* slot = NULL;
  uint64_t file_offset = 0;
  napi_value out = NULL;

  memset(&hist, 0, sizeof hist);
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 13) {
    napi_throw_type_error(env, NULL, "shmstats: register takes 13 arguments");
    return NULL;
  }
  if ((seg = SegmentOf(env, argv[0])) == NULL) return NULL;
  shmstats_metric_options_init(&opts);
  CHECK(env, napi_get_value_int32(env, argv[1], &type));
  CHECK(env, napi_get_value_int64(env, argv[6], &scope));
  CHECK(env, napi_get_value_int32(env, argv[7], &bucket_kind));
  CHECK(env, napi_get_value_double(env, argv[9], &opts.min));
  CHECK(env, napi_get_value_double(env, argv[10], &opts.max));
  CHECK(env, napi_get_value_int32(env, argv[11], &schema));
  CHECK(env, napi_get_value_double(env, argv[12], &opts.zero_threshold));
  labels_v = argv[3];
  CHECK(env, napi_get_array_length(env, labels_v, &n_flat));
  n_labels = n_flat / 2;
  if ((name = TakeString(env, argv[2], 0, &failed)) == NULL) goto done;
  help = TakeString(env, argv[4], 1, &failed);
  if (failed) goto done;
  unit = TakeString(env, argv[5], 1, &failed);
  if (failed) goto done;
  labels = calloc(n_labels ? n_labels : 1, sizeof *labels);
  if (labels == NULL) {
    napi_throw_error(env, "SHMSTATS_NO_MEMORY", "shmstats: out of memory");
    goto done;
  }
  for (i = 0; i < 2 * n_labels; ++i) {
    char* str;
    if (napi_get_element(env, labels_v, (uint32_t)i, &item) != napi_ok) goto done;
    if ((str = TakeString(env, item, 0, &failed)) == NULL) goto done;
    if (i % 2 == 0)
      labels[i / 2].name = str;
    else
      labels[i / 2].value = str;
  }
  opts.name = name;
  opts.labels = labels;
  opts.n_labels = n_labels;
  opts.help = help;
  opts.unit = unit;
  opts.scope = (uint64_t)scope;
  switch (type) {
    case SHMSTATS_COUNTER:
      s = shmstats_register_counter(seg, &opts, &counter);
      slot = counter.slot;
      break;
    case SHMSTATS_GAUGE:
      s = shmstats_register_gauge(seg, &opts, &gauge);
      slot = gauge.slot;
      break;
    case SHMSTATS_HISTOGRAM: {
      napi_valuetype bt;
      opts.bucket_kind = bucket_kind;
      opts.schema = schema;
      CHECK(env, napi_typeof(env, argv[8], &bt));
      if (bt != napi_null && bt != napi_undefined) {
        napi_typedarray_type at;
        size_t length;
        void* data;
        CHECK(env, napi_get_typedarray_info(env, argv[8], &at, &length, &data, NULL, NULL));
        if (at != napi_float64_array) {
          napi_throw_type_error(env, NULL, "shmstats: bounds must be a Float64Array");
          goto done;
        }
        opts.bounds = data;
        opts.n_bounds = length;
      }
      s = shmstats_register_histogram(seg, &opts, &hist);
      slot = hist.slots;
      /* [sum] and the buckets: 2n + 3 native ones (docs/segment-format.md), or the
       * explicit bounds' and +Inf. */
      n_slots = hist.kind == SHMSTATS_HISTOGRAM_EXPONENTIAL ? 4 + 2 * (size_t)hist.last
                                                            : 2 + (size_t)opts.n_bounds;
      break;
    }
    default:
      napi_throw_type_error(env, NULL, "shmstats: unknown metric type");
      goto done;
  }
  if (s != SHMSTATS_OK) {
    Fail(env, "registering a series", s);
    goto done;
  }
  {
    char err[512];
    uint64_t file_size;
    if (shmstats_node_locate(slot, &file_size, &file_offset, err, sizeof err) != 0) {
      napi_throw_error(env, "SHMSTATS_SYSTEM", err);
      goto done;
    }
  }
  if (slot != NULL && type == SHMSTATS_HISTOGRAM && hist.kind == SHMSTATS_HISTOGRAM_EXPONENTIAL) {
    void* copy;
    size_t bytes = ((size_t)2 << hist.shift) * sizeof(uint64_t);
    if (napi_create_arraybuffer(env, bytes, &copy, &cells) != napi_ok) goto done;
    memcpy(copy, hist.native, bytes);
  } else if (napi_get_null(env, &cells) != napi_ok) {
    goto done;
  }
  if (napi_create_array_with_length(env, 9, &result) != napi_ok) goto done;
  if ((item = SlotBuffer(env, slot, n_slots)) == NULL ||
      napi_set_element(env, result, 0, item) != napi_ok ||
      napi_set_element(env, result, 1, Number(env, hist.kind)) != napi_ok ||
      napi_set_element(env, result, 2, Number(env, hist.shift)) != napi_ok ||
      napi_set_element(env, result, 3, Number(env, (double)hist.min_key)) != napi_ok ||
      napi_set_element(env, result, 4, Number(env, (double)hist.last)) != napi_ok ||
      napi_set_element(env, result, 5, Number(env, (double)file_offset)) != napi_ok ||
      napi_set_element(env, result, 6, Number(env, hist.coarse_shift)) != napi_ok ||
      napi_set_element(env, result, 7, Number(env, shmstats_detail_double(hist.zero_bits))) !=
          napi_ok ||
      napi_set_element(env, result, 8, cells) != napi_ok)
    goto done;
  out = result;
done:
  for (i = 0; labels != NULL && i < n_labels; ++i) {
    free((char*)labels[i].name);
    free((char*)labels[i].value);
  }
  free(labels);
  free(name);
  free(help);
  free(unit);
  return out;
}

/* retireExited(segment) -> number: folds the process-scoped series of exited
 * processes into their shared series (what shmstatsd does every tick). */
static napi_value RetireExited(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  shmstats_segment* seg;
  uint32_t retired = 0;
  shmstats_status s;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || (seg = SegmentOf(env, argv[0])) == NULL) return NULL;
  s = shmstats_segment_retire_exited(seg, &retired);
  if (s != SHMSTATS_OK) return Fail(env, "retiring exited processes", s);
  return Number(env, retired);
}

/* reset(segment, name) -> number: atomically zeroes every series of that name. */
static napi_value Reset(napi_env env, napi_callback_info info) {
  size_t argc = 2, n_reset = 0;
  napi_value argv[2];
  shmstats_segment* seg;
  char* name;
  int failed;
  shmstats_status s;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || (seg = SegmentOf(env, argv[0])) == NULL) return NULL;
  if ((name = TakeString(env, argv[1], 0, &failed)) == NULL) return NULL;
  s = shmstats_reset(seg, name, &n_reset);
  free(name);
  if (s != SHMSTATS_OK) return Fail(env, "resetting", s);
  return Number(env, (double)n_reset);
}

/* The data and length of an ArrayBuffer argument. */
static int BufferArg(napi_env env, napi_value v, void** data, size_t* length) {
  if (napi_get_arraybuffer_info(env, v, data, length) != napi_ok) {
    napi_throw_type_error(env, NULL, "shmstats: expected an ArrayBuffer");
    return -1;
  }
  return 0;
}

/* segmentSize(slots) -> bytes: the size of the segment file that `slots` (a buffer
 * from register) lies in. */
static napi_value SegmentSize(napi_env env, napi_callback_info info) {
  size_t argc = 1, length;
  napi_value argv[1];
  void* data;
  uint64_t size, offset;
  char err[512];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || BufferArg(env, argv[0], &data, &length) != 0) return NULL;
  if (shmstats_node_locate(data, &size, &offset, err, sizeof err) != 0) {
    napi_throw_error(env, "SHMSTATS_SYSTEM", err);
    return NULL;
  }
  return Number(env, (double)size);
}

/* mapInto(memoryBuffer, slots): maps the segment file that `slots` lies in over the
 * start of a WebAssembly.Memory's buffer (shared with every other mapping of it). */
static napi_value MapInto(napi_env env, napi_callback_info info) {
  size_t argc = 2, room, length;
  napi_value argv[2];
  void *at, *slots;
  char err[512];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || BufferArg(env, argv[0], &at, &room) != 0 ||
      BufferArg(env, argv[1], &slots, &length) != 0)
    return NULL;
  if (shmstats_node_map_over(at, room, slots, err, sizeof err) != 0)
    napi_throw_error(env, "SHMSTATS_SYSTEM", err);
  return NULL;
}

/* unmapFrom(memoryBuffer): private zero pages back over a WebAssembly.Memory. */
static napi_value UnmapFrom(napi_env env, napi_callback_info info) {
  size_t argc = 1, room;
  napi_value argv[1];
  void* at;
  char err[512];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || BufferArg(env, argv[0], &at, &room) != 0) return NULL;
  if (shmstats_node_unmap_from(at, room, err, sizeof err) != 0)
    napi_throw_error(env, "SHMSTATS_SYSTEM", err);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"register", NULL, Register, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reset", NULL, Reset, NULL, NULL, NULL, napi_enumerable, NULL},
      {"segmentSize", NULL, SegmentSize, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mapInto", NULL, MapInto, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmapFrom", NULL, UnmapFrom, NULL, NULL, NULL, napi_enumerable, NULL},
      {"retireExited", NULL, RetireExited, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
