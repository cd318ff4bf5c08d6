// SPDX-License-Identifier: Apache-2.0
/* The shmstats Python extension: segments, registration and reading through the C
 * ABI (shmstats/shmstats_c.h), and the recording methods as C methods over its inline
 * functions, so that Counter.inc, Gauge.set/inc/dec and Histogram.observe are one
 * vectorcall and a relaxed atomic on mapped memory: no ctypes, no lock, no system
 * call. Every recording method runs under the GIL, so a handle re-pointed by a
 * re-attach (see metrics.py) is never seen half-written.
 *
 * Types:
 *   Segment(name)     an open (or created) segment; read(), reset(name), replaced()
 *   CounterCore       a float counter: inc(amount=1), _exemplar(value, labels)
 *   GaugeCore         a gauge: inc(amount=1), dec(amount=1), set(value)
 *   HistogramCore     a histogram: observe(amount), _exemplar(value, labels)
 * A core is unbound until _bind() registers its series; recording on an unbound core
 * raises ValueError("<type> metric is missing label values"), as prometheus_client
 * does on a labelled parent. A call with keywords (exemplar=...) goes to the Python
 * subclass's _record_kw(), which owns exemplars. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <time.h>

#include "shmstats/shmstats_c.h"

#if SHMSTATS_C_ABI_MINOR < 5
#error "the Python extension needs the exemplars of C ABI 0.5"
#endif

/* ---- errors ---- */

static PyObject* ShmstatsError; /* shmstats.Error: a set-up call failed */

/* ValueError for what the caller got wrong (a bad name, label, bound, or a series of
 * another type), shmstats.Error(status, message) otherwise. */
static PyObject* raise_status(shmstats_status status) {
  const char* message = shmstats_last_error();
  if (status == SHMSTATS_INVALID_ARGUMENT || status == SHMSTATS_TYPE_MISMATCH) {
    PyErr_SetString(PyExc_ValueError, message);
  } else {
    PyObject* args = Py_BuildValue("(is)", (int)status, message);
    if (args) {
      PyErr_SetObject(ShmstatsError, args);
      Py_DECREF(args);
    }
  }
  return NULL;
}

/* UTF-8 of a str with no NUL byte (a NUL would cut the name or label in C). */
static const char* utf8_no_nul(PyObject* s, const char* what) {
  Py_ssize_t n;
  const char* p;
  if (!PyUnicode_Check(s)) {
    PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(s)->tp_name);
    return NULL;
  }
  p = PyUnicode_AsUTF8AndSize(s, &n);
  if (p && (Py_ssize_t)strlen(p) != n) {
    PyErr_Format(PyExc_ValueError, "%s contains a NUL character: %R", what, s);
    return NULL;
  }
  return p;
}

/* ---- Segment ---- */

typedef struct {
  PyObject_HEAD shmstats_segment* seg;
  PyObject* name;
} SegmentObject;

static int segment_init(SegmentObject* self, PyObject* args, PyObject* kw) {
  static char* names[] = {"name", "create", NULL};
  PyObject* name;
  int create = 1;
  const char* n;
  shmstats_status st;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "U|p", names, &name, &create)) return -1;
  if (!(n = utf8_no_nul(name, "the segment name"))) return -1;
  if (self->seg) return 0;
  Py_BEGIN_ALLOW_THREADS st = create ? shmstats_segment_open_or_create(n, NULL, &self->seg)
                                     : shmstats_segment_open(n, 0, &self->seg);
  Py_END_ALLOW_THREADS if (st != SHMSTATS_OK) {
    raise_status(st);
    return -1;
  }
  Py_INCREF(name);
  Py_XSETREF(self->name, name);
  return 0;
}

static void segment_dealloc(SegmentObject* self) {
  shmstats_segment_close(self->seg);
  Py_XDECREF(self->name);
  Py_TYPE(self)->tp_free((PyObject*)self);
}

static PyObject* labels_dict(const shmstats_label* labels, size_t n) {
  PyObject* d = PyDict_New();
  size_t i;
  for (i = 0; d && i < n; ++i) {
    PyObject* v = PyUnicode_FromString(labels[i].value);
    if (!v || PyDict_SetItemString(d, labels[i].name, v) < 0) Py_CLEAR(d);
    Py_XDECREF(v);
  }
  return d;
}

/* One metric as a dict: name, labels, type (1 counter, 2 gauge, 3 histogram), value
 * (counters: an int, or a float for float counters; gauges: a float), or bounds,
 * buckets (per bucket, +Inf last), sum and count. */
static PyObject* metric_dict(const shmstats_metric_value* m) {
  PyObject* d = PyDict_New();
  PyObject *labels, *v = NULL;
  size_t j;
  if (!d) return NULL;
  labels = labels_dict(m->labels, m->n_labels);
  if (!labels || PyDict_SetItemString(d, "labels", labels) < 0) goto fail;
  Py_CLEAR(labels);
#define SET(key, expr)                                        \
  do {                                                        \
    v = (expr);                                               \
    if (!v || PyDict_SetItemString(d, key, v) < 0) goto fail; \
    Py_CLEAR(v);                                              \
  } while (0)
  SET("name", PyUnicode_FromString(m->name));
  SET("help", PyUnicode_FromString(m->help));
  SET("type", PyLong_FromLong(m->type));
  if (m->type == SHMSTATS_COUNTER) {
    SET("value", m->fractional ? PyFloat_FromDouble(m->counter_double)
                               : PyLong_FromUnsignedLongLong(m->counter));
  } else if (m->type == SHMSTATS_GAUGE) {
    SET("value", PyFloat_FromDouble(m->gauge));
  } else {
    PyObject* bounds = PyList_New((Py_ssize_t)(m->n_buckets - 1));
    PyObject* buckets = PyList_New((Py_ssize_t)m->n_buckets);
    if (!bounds || !buckets) {
      Py_XDECREF(bounds);
      Py_XDECREF(buckets);
      goto fail;
    }
    for (j = 0; j + 1 < m->n_buckets; ++j)
      PyList_SET_ITEM(bounds, (Py_ssize_t)j, PyFloat_FromDouble(m->bounds[j]));
    for (j = 0; j < m->n_buckets; ++j)
      PyList_SET_ITEM(buckets, (Py_ssize_t)j, PyLong_FromUnsignedLongLong(m->bucket_counts[j]));
    SET("bounds", bounds);
    SET("buckets", buckets);
    SET("sum", PyFloat_FromDouble(m->sum));
    SET("count", PyLong_FromUnsignedLongLong(m->count));
  }
#undef SET
  return d;
fail:
  Py_XDECREF(labels);
  Py_XDECREF(v);
  Py_DECREF(d);
  return NULL;
}

static PyObject* segment_read(SegmentObject* self, PyObject* unused) {
  shmstats_snapshot* snap = NULL;
  shmstats_status st;
  PyObject* out;
  size_t i, n;
  (void)unused;
  Py_BEGIN_ALLOW_THREADS st = shmstats_snapshot_read(self->seg, &snap);
  Py_END_ALLOW_THREADS if (st != SHMSTATS_OK) return raise_status(st);
  n = shmstats_snapshot_count(snap);
  out = PyList_New((Py_ssize_t)n);
  for (i = 0; out && i < n; ++i) {
    PyObject* m = metric_dict(shmstats_snapshot_metric(snap, i));
    if (!m)
      Py_CLEAR(out);
    else
      PyList_SET_ITEM(out, (Py_ssize_t)i, m);
  }
  shmstats_snapshot_free(snap);
  return out;
}

static PyObject* segment_reset(SegmentObject* self, PyObject* args) {
  PyObject* name = Py_None;
  const char* n = NULL;
  size_t count = 0;
  shmstats_status st;
  if (!PyArg_ParseTuple(args, "|O", &name)) return NULL;
  if (name != Py_None && !(n = utf8_no_nul(name, "the metric name"))) return NULL;
  st = shmstats_reset(self->seg, n, &count);
  if (st != SHMSTATS_OK) return raise_status(st);
  return PyLong_FromSize_t(count);
}

static PyObject* segment_replaced(SegmentObject* self, PyObject* unused) {
  (void)unused;
  return PyBool_FromLong(shmstats_segment_replaced(self->seg));
}

static PyObject* segment_retire_exited(SegmentObject* self, PyObject* unused) {
  uint32_t n = 0;
  shmstats_status st = shmstats_segment_retire_exited(self->seg, &n);
  (void)unused;
  if (st != SHMSTATS_OK) return raise_status(st);
  return PyLong_FromUnsignedLong(n);
}

/* Segment.delete(name, labels=None): deletes the series `name` with exactly these
 * (name, value) labels, or every series called name when labels is None; returns
 * how many. */
static PyObject* segment_delete(PyObject* self, PyObject* args);

static PyMethodDef segment_methods[] = {
    {"delete", (PyCFunction)segment_delete, METH_VARARGS,
     "delete(name, labels=None): deletes the series called name with exactly these (name, "
     "value) labels, or all of them when labels is None; returns how many."},
    {"read", (PyCFunction)segment_read, METH_NOARGS, "Every metric as a list of dicts."},
    {"reset", (PyCFunction)segment_reset, METH_VARARGS,
     "reset(name=None): atomically zeroes every series called name (all when None); "
     "returns how many."},
    {"replaced", (PyCFunction)segment_replaced, METH_NOARGS,
     "True when the segment's name no longer names this mapping (removed or re-created)."},
    {"retire_exited", (PyCFunction)segment_retire_exited, METH_NOARGS,
     "Retires the process-scoped series of exited processes; returns how many."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject SegmentType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmstats._shmstats.Segment",
    .tp_basicsize = sizeof(SegmentObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Segment(name, create=True): a mapped shmstats segment.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)segment_init,
    .tp_dealloc = (destructor)segment_dealloc,
    .tp_methods = segment_methods,
};

/* ---- cores: the recording objects ---- */

/* How a gauge core writes its slot (prometheus_client's multiprocess modes in one
 * shared slot, see metrics.py): STORE sets it (inc/dec add); SUM adds the change of
 * this process's value, so the slot sums every process's last value; MAX and MIN
 * raise (lower) it to this process's value when that is larger (smaller); STAMPED
 * writes as STORE, then the time (a SHMSTATS_GAUGE_MOST_RECENT process gauge). */
enum { GAUGE_STORE = 0, GAUGE_SUM = 1, GAUGE_MAX = 2, GAUGE_MIN = 3, GAUGE_STAMPED = 4 };

typedef struct {
  PyObject_HEAD PyObject* segment; /* the SegmentObject whose mapping the handle points into */
  PyObject* kind_name;             /* "counter", "gauge", "histogram": for the unbound error */
  int bound;
  int mode;     /* gauges: GAUGE_* */
  double local; /* gauges: this process's value (SUM, MAX, MIN) */
  union {
    shmstats_float_counter counter;
    shmstats_gauge gauge;
    shmstats_histogram histogram;
  } u;
} CoreObject;

static int core_traverse(CoreObject* self, visitproc visit, void* arg) {
  Py_VISIT(self->segment);
  return 0;
}

static int core_clear(CoreObject* self) {
  Py_CLEAR(self->segment);
  return 0;
}

/* Python subclasses (heap types) are deallocated by subtype_dealloc, which calls this
 * and releases the type itself. */
static void core_dealloc(CoreObject* self) {
  PyObject_GC_UnTrack(self);
  core_clear(self);
  Py_CLEAR(self->kind_name);
  Py_TYPE(self)->tp_free((PyObject*)self);
}

static PyObject* core_new(PyTypeObject* type, PyObject* args, PyObject* kw) {
  (void)args;
  (void)kw;
  return type->tp_alloc(type, 0);
}

static PyObject* raise_unbound(CoreObject* self) {
  PyErr_Format(PyExc_ValueError, "%S metric is missing label values",
               self->kind_name ? self->kind_name : Py_None);
  return NULL;
}

/* A number as a double: floats and ints at once, else float(x) as prometheus_client's
 * arithmetic would take it; an int too large for a double raises OverflowError. */
static inline int as_double(PyObject* x, double* out) {
  if (PyFloat_CheckExact(x)) {
    *out = PyFloat_AS_DOUBLE(x);
    return 1;
  }
  if (PyLong_CheckExact(x)) {
    *out = PyLong_AsDouble(x);
    return !(*out == -1.0 && PyErr_Occurred());
  }
  *out = PyFloat_AsDouble(x);
  return !(*out == -1.0 && PyErr_Occurred());
}

/* The keyword form of a recording call: the Python subclass's _record_kw(method, *args, **kw). */
static PyObject* record_kw(CoreObject* self, const char* method, PyObject* const* args,
                           size_t nargsf, PyObject* kwnames) {
  PyObject* name = PyUnicode_FromString(method);
  PyObject* callable = name ? PyObject_GetAttrString((PyObject*)self, "_record_kw") : NULL;
  PyObject* result = NULL;
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf), nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  PyObject** all = callable ? PyMem_New(PyObject*, (size_t)(nargs + nkw + 1)) : NULL;
  if (all) {
    all[0] = name;
    memcpy(all + 1, args, sizeof(PyObject*) * (size_t)(nargs + nkw));
    result = PyObject_Vectorcall(callable, all, (size_t)(nargs + 1), kwnames);
    PyMem_Free(all);
  } else if (callable) {
    PyErr_NoMemory();
  }
  Py_XDECREF(callable);
  Py_XDECREF(name);
  return result;
}

/* Registers the series and binds this core to it:
 * _bind(segment, kind, name, labels, help, unit, scope=0, bounds=None, exponential=None,
 *       ttl_seconds=0, family_limit=0, gauge_combine=0)
 * kind: 1 float counter, 2 gauge, 3 histogram; labels: a sequence of (name, value)
 * pairs of str; bounds: explicit finite bounds; exponential: (min, max, schema);
 * gauge_combine: shmstats_metric_options.gauge_combine. */
/* labels, a sequence of (name, value) tuples, as an array (*out, *n; PyMem_Free it)
 * whose strings live in the returned sequence (Py_DECREF it after). NULL on error. */
static PyObject* label_array(PyObject* labels, shmstats_label** out, Py_ssize_t* n) {
  Py_ssize_t i;
  PyObject* seq = PySequence_Fast(labels, "labels must be a sequence of (name, value) pairs");
  *out = NULL;
  if (!seq) return NULL;
  *n = PySequence_Fast_GET_SIZE(seq);
  if (*n && !(*out = PyMem_New(shmstats_label, (size_t)*n))) {
    PyErr_NoMemory();
    goto fail;
  }
  for (i = 0; i < *n; ++i) {
    PyObject* pair = PySequence_Fast_GET_ITEM(seq, i);
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
      PyErr_SetString(PyExc_TypeError, "labels must be (name, value) tuples");
      goto fail;
    }
    if (!((*out)[i].name = utf8_no_nul(PyTuple_GET_ITEM(pair, 0), "a label name"))) goto fail;
    if (!((*out)[i].value = utf8_no_nul(PyTuple_GET_ITEM(pair, 1), "a label value"))) goto fail;
  }
  return seq;
fail:
  PyMem_Free(*out);
  *out = NULL;
  Py_DECREF(seq);
  return NULL;
}

static PyObject* core_bind(CoreObject* self, PyObject* args, PyObject* kw) {
  static char* names[] = {"segment", "kind",  "name",   "labels",      "help",
                          "unit",    "scope", "bounds", "exponential", "ttl_seconds",
                          "family_limit", "gauge_combine", NULL};
  PyObject *segment, *name, *labels, *help, *unit, *bounds = Py_None, *exponential = Py_None;
  PyObject* seq = NULL;
  int kind;
  unsigned long long scope = 0, gauge_combine = 0;
  unsigned int ttl_seconds = 0, family_limit = 0;
  shmstats_metric_options o;
  shmstats_label* lab = NULL;
  double* b = NULL;
  shmstats_status st = SHMSTATS_OK;
  Py_ssize_t n = 0;
  PyObject* result = NULL;
  union {
    shmstats_float_counter counter;
    shmstats_gauge gauge;
    shmstats_histogram histogram;
  } handle;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "O!iUOUU|KOOIIK", names, &SegmentType, &segment,
                                   &kind, &name, &labels, &help, &unit, &scope, &bounds,
                                   &exponential, &ttl_seconds, &family_limit, &gauge_combine))
    return NULL;
  shmstats_metric_options_init(&o);
  o.scope = scope;
  o.ttl_seconds = ttl_seconds;
  o.family_limit = family_limit;
  o.gauge_combine = gauge_combine;
  if (!(o.name = utf8_no_nul(name, "the metric name"))) return NULL;
  if (!(o.help = utf8_no_nul(help, "the documentation"))) return NULL;
  if (!(o.unit = utf8_no_nul(unit, "the unit"))) return NULL;
  if (!(seq = label_array(labels, &lab, &n))) goto done;
  o.labels = lab;
  o.n_labels = (size_t)n;
  if (kind == SHMSTATS_HISTOGRAM) {
    if (exponential != Py_None) {
      if (!PyArg_ParseTuple(exponential, "ddi", &o.min, &o.max, &o.schema)) goto done;
      o.bucket_kind = SHMSTATS_BUCKETS_EXPONENTIAL;
    } else {
      PyObject* bs = PySequence_Fast(bounds, "bounds must be a sequence of numbers");
      Py_ssize_t k, nb;
      if (!bs) goto done;
      nb = PySequence_Fast_GET_SIZE(bs);
      b = PyMem_New(double, (size_t)(nb ? nb : 1));
      for (k = 0; b && k < nb; ++k) {
        b[k] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(bs, k));
        if (b[k] == -1.0 && PyErr_Occurred()) break;
      }
      Py_DECREF(bs);
      if (!b) PyErr_NoMemory();
      if (PyErr_Occurred()) goto done;
      o.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
      o.bounds = b;
      o.n_bounds = (size_t)nb;
    }
  }
  {
    shmstats_segment* seg = ((SegmentObject*)segment)->seg;
    switch (kind) {
      case SHMSTATS_COUNTER:
        st = shmstats_register_float_counter(seg, &o, &handle.counter);
        break;
      case SHMSTATS_GAUGE:
        st = shmstats_register_gauge(seg, &o, &handle.gauge);
        break;
      case SHMSTATS_HISTOGRAM:
        st = shmstats_register_histogram(seg, &o, &handle.histogram);
        break;
      default:
        PyErr_SetString(PyExc_ValueError, "kind must be 1, 2 or 3");
        goto done;
    }
  }
  if (st != SHMSTATS_OK) {
    raise_status(st);
    goto done;
  }
  /* Under the GIL: no recording method sees the handle half-copied. */
  memcpy(&self->u, &handle, sizeof handle);
  self->local = 0; /* a new series (or this process's own, after fork) starts at 0 */
  Py_INCREF(segment);
  Py_XSETREF(self->segment, segment);
  self->bound = 1;
  result = Py_None;
  Py_INCREF(result);
done:
  Py_XDECREF(seq);
  PyMem_Free(lab);
  PyMem_Free(b);
  return result;
}

static PyObject* core_set_kind(CoreObject* self, PyObject* args) {
  PyObject* kind;
  int mode = GAUGE_STORE;
  if (!PyArg_ParseTuple(args, "U|i", &kind, &mode)) return NULL;
  Py_INCREF(kind);
  Py_XSETREF(self->kind_name, kind);
  self->mode = mode;
  Py_RETURN_NONE;
}

static PyObject* core_bound(CoreObject* self, void* unused) {
  (void)unused;
  return PyBool_FromLong(self->bound);
}

#define CORE_COMMON_METHODS                                                                      \
  {"_bind", (PyCFunction)(void (*)(void))core_bind, METH_VARARGS | METH_KEYWORDS,                \
   "Registers the series and records into it from now on."},                                     \
  {                                                                                              \
    "_set_kind", (PyCFunction)core_set_kind, METH_VARARGS,                                       \
        "_set_kind(type_name, gauge_mode=0): the name in errors, and how a gauge's set() works." \
  }

static PyGetSetDef core_getset[] = {
    {"_bound", (getter)core_bound, NULL, "True once registered.", NULL}, {NULL}};

/* Counter.inc(amount=1): a float counter; a negative amount is refused as
 * prometheus_client refuses it. */
static PyObject* counter_inc(CoreObject* self, PyObject* const* args, size_t nargsf,
                             PyObject* kwnames) {
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  double d = 1;
  if (kwnames || nargs > 1) return record_kw(self, "inc", args, nargsf, kwnames);
  if (nargs == 1 && !as_double(args[0], &d)) return NULL;
  if (!self->bound) return raise_unbound(self);
  if (d < 0) {
    PyErr_SetString(PyExc_ValueError, "Counters can only be incremented by non-negative amounts.");
    return NULL;
  }
  shmstats_float_counter_inc(self->u.counter, d);
  Py_RETURN_NONE;
}

/* MAX/MIN: moves the slot to v when v is beyond it (a CAS loop). A new gauge's slot
 * is all zero bits (+0.0), which means "nothing set yet": any value replaces it, and a
 * value of zero is stored as -0.0 (equal to 0, and read as 0 by every reader). */
static void gauge_extreme(shmstats_slot* slot, double v, int max) {
  uint64_t old = SHMSTATS_LOAD(slot);
  const uint64_t bits = shmstats_detail_bits(v == 0 ? -0.0 : v);
  for (;;) {
    double cur = shmstats_detail_double(old);
    if (old != 0 && (max ? !(v > cur) : !(v < cur))) return;
    if (SHMSTATS_CAS_WEAK(slot, &old, bits)) return;
  }
}

/* Writes this process's new value v (from set, or local + d from inc/dec). */
static inline PyObject* gauge_write(CoreObject* self, double v, double d, int is_set) {
  if (!self->bound) return raise_unbound(self);
  switch (self->mode) {
    case GAUGE_SUM:
      shmstats_gauge_add(self->u.gauge, is_set ? v - self->local : d);
      break;
    case GAUGE_MAX:
    case GAUGE_MIN:
      gauge_extreme(self->u.gauge.slot, v, self->mode == GAUGE_MAX);
      break;
    default:
      if (is_set)
        shmstats_gauge_set(self->u.gauge, v);
      else
        shmstats_gauge_add(self->u.gauge, d);
      if (self->mode == GAUGE_STAMPED) {
        struct timespec ts; /* the vDSO: no system call */
        clock_gettime(CLOCK_REALTIME, &ts);
        shmstats_gauge_stamp(self->u.gauge,
                             (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
      }
  }
  self->local = v;
  Py_RETURN_NONE;
}

static inline PyObject* gauge_add(CoreObject* self, double d) {
  return gauge_write(self, self->local + d, d, 0);
}

static PyObject* gauge_inc(CoreObject* self, PyObject* const* args, size_t nargsf,
                           PyObject* kwnames) {
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  double d = 1;
  if (kwnames || nargs > 1) return record_kw(self, "inc", args, nargsf, kwnames);
  if (nargs == 1 && !as_double(args[0], &d)) return NULL;
  return gauge_add(self, d);
}

static PyObject* gauge_dec(CoreObject* self, PyObject* const* args, size_t nargsf,
                           PyObject* kwnames) {
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  double d = 1;
  if (kwnames || nargs > 1) return record_kw(self, "dec", args, nargsf, kwnames);
  if (nargs == 1 && !as_double(args[0], &d)) return NULL;
  return gauge_add(self, -d);
}

/* Gauge.set(value): float(value), as prometheus_client (a numeric str is fine). */
static PyObject* gauge_set(CoreObject* self, PyObject* const* args, size_t nargsf,
                           PyObject* kwnames) {
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  double v;
  if (kwnames || nargs != 1) return record_kw(self, "set", args, nargsf, kwnames);
  if (PyFloat_CheckExact(args[0])) {
    v = PyFloat_AS_DOUBLE(args[0]);
  } else {
    PyObject* f = PyNumber_Float(args[0]);
    if (!f) return NULL;
    v = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
  }
  return gauge_write(self, v, 0, 1);
}

static PyObject* histogram_observe(CoreObject* self, PyObject* const* args, size_t nargsf,
                                   PyObject* kwnames) {
  Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  double v;
  if (kwnames || nargs != 1) return record_kw(self, "observe", args, nargsf, kwnames);
  if (!as_double(args[0], &v)) return NULL;
  if (!self->bound) return raise_unbound(self);
  shmstats_histogram_observe(&self->u.histogram, v);
  Py_RETURN_NONE;
}

static PyTypeObject HistogramCoreType; /* defined below */

/* _exemplar(value, labels): stores an exemplar with this core's series (a counter's,
 * or the bucket a histogram counts value in): labels a sequence of (name, value)
 * pairs of str. True when stored (or superseded by one stored at the same instant),
 * False when the segment's exemplar region is full (it is dropped: recording never
 * fails because of an exemplar); ValueError for labels that break the rules. */
static PyObject* core_exemplar(CoreObject* self, PyObject* args) {
  PyObject *labels, *seq;
  double value;
  shmstats_label* lab = NULL;
  Py_ssize_t n = 0;
  shmstats_status st;
  shmstats_segment* seg;
  if (!PyArg_ParseTuple(args, "dO", &value, &labels)) return NULL;
  if (!self->bound) return raise_unbound(self);
  if (!(seq = label_array(labels, &lab, &n))) return NULL;
  seg = ((SegmentObject*)self->segment)->seg;
  if (PyObject_TypeCheck(self, &HistogramCoreType))
    st = shmstats_histogram_exemplar(seg, &self->u.histogram, value, lab, (size_t)n);
  else
    st = shmstats_float_counter_exemplar(seg, &self->u.counter, value, lab, (size_t)n);
  PyMem_Free(lab);
  Py_DECREF(seq);
  if (st == SHMSTATS_FULL) Py_RETURN_FALSE;
  if (st != SHMSTATS_OK) return raise_status(st);
  Py_RETURN_TRUE;
}

#define FASTCALL(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef counter_methods[] = {
    {"inc", FASTCALL(counter_inc), "inc(amount=1, exemplar=None): adds amount (>= 0)."},
    {"_exemplar", (PyCFunction)core_exemplar, METH_VARARGS, "_exemplar(value, labels)."},
    CORE_COMMON_METHODS,
    {NULL, NULL, 0, NULL}};
static PyMethodDef gauge_methods[] = {
    {"inc", FASTCALL(gauge_inc), "inc(amount=1): adds amount."},
    {"dec", FASTCALL(gauge_dec), "dec(amount=1): subtracts amount."},
    {"set", FASTCALL(gauge_set), "set(value): sets the gauge to float(value)."},
    CORE_COMMON_METHODS,
    {NULL, NULL, 0, NULL}};
static PyMethodDef histogram_methods[] = {
    {"observe", FASTCALL(histogram_observe), "observe(amount, exemplar=None)."},
    {"_exemplar", (PyCFunction)core_exemplar, METH_VARARGS, "_exemplar(value, labels)."},
    CORE_COMMON_METHODS,
    {NULL, NULL, 0, NULL}};

#define CORE_TYPE(var, pyname, methods)                                             \
  static PyTypeObject var = {                                                       \
      PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmstats._shmstats." pyname,        \
      .tp_basicsize = sizeof(CoreObject),                                           \
      .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,    \
      .tp_doc = "The recording core of a metric (see the module's documentation).", \
      .tp_new = core_new,                                                           \
      .tp_dealloc = (destructor)core_dealloc,                                       \
      .tp_traverse = (traverseproc)core_traverse,                                   \
      .tp_clear = (inquiry)core_clear,                                              \
      .tp_methods = methods,                                                        \
      .tp_getset = core_getset,                                                     \
  }
CORE_TYPE(CounterCoreType, "CounterCore", counter_methods);
CORE_TYPE(GaugeCoreType, "GaugeCore", gauge_methods);
CORE_TYPE(HistogramCoreType, "HistogramCore", histogram_methods);

/* ---- module ---- */

static PyObject* module_remove(PyObject* mod, PyObject* arg) {
  const char* n = utf8_no_nul(arg, "the segment name");
  shmstats_status st;
  (void)mod;
  if (!n) return NULL;
  st = shmstats_segment_remove(n);
  if (st == SHMSTATS_NOT_FOUND) Py_RETURN_FALSE;
  if (st != SHMSTATS_OK) return raise_status(st);
  Py_RETURN_TRUE;
}

static PyMethodDef module_methods[] = {
    {"remove_segment", module_remove, METH_O,
     "remove_segment(name): unlinks the segment; False if there was none."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "shmstats._shmstats",
                                    "shmstats recording over the C ABI (see _shmstats.c).", -1,
                                    module_methods};

PyMODINIT_FUNC PyInit__shmstats(void) {
  PyObject* m;
  uint32_t abi = shmstats_abi_version();
  if (abi / 1000 != SHMSTATS_C_ABI_MAJOR || abi % 1000 < SHMSTATS_C_ABI_MINOR) {
    PyErr_Format(PyExc_ImportError,
                 "shmstats: libshmstats has C ABI %u.%u, this extension was built for %d.%d: "
                 "install the library and the package from the same release",
                 abi / 1000, abi % 1000, SHMSTATS_C_ABI_MAJOR, SHMSTATS_C_ABI_MINOR);
    return NULL;
  }
  if (PyType_Ready(&SegmentType) < 0 || PyType_Ready(&CounterCoreType) < 0 ||
      PyType_Ready(&GaugeCoreType) < 0 || PyType_Ready(&HistogramCoreType) < 0)
    return NULL;
  if (!(m = PyModule_Create(&module))) return NULL;
  ShmstatsError = PyErr_NewExceptionWithDoc(
      "shmstats.Error", "A set-up call of libshmstats failed: args are (status, message).",
      PyExc_RuntimeError, NULL);
  if (!ShmstatsError || PyModule_AddObjectRef(m, "Error", ShmstatsError) < 0 ||
      PyModule_AddObjectRef(m, "Segment", (PyObject*)&SegmentType) < 0 ||
      PyModule_AddObjectRef(m, "CounterCore", (PyObject*)&CounterCoreType) < 0 ||
      PyModule_AddObjectRef(m, "GaugeCore", (PyObject*)&GaugeCoreType) < 0 ||
      PyModule_AddObjectRef(m, "HistogramCore", (PyObject*)&HistogramCoreType) < 0 ||
      PyModule_AddIntConstant(m, "GAUGE_STORE", GAUGE_STORE) < 0 ||
      PyModule_AddIntConstant(m, "GAUGE_SUM", GAUGE_SUM) < 0 ||
      PyModule_AddIntConstant(m, "GAUGE_MAX", GAUGE_MAX) < 0 ||
      PyModule_AddIntConstant(m, "GAUGE_MIN", GAUGE_MIN) < 0 ||
      PyModule_AddIntConstant(m, "GAUGE_STAMPED", GAUGE_STAMPED) < 0 ||
      PyModule_AddIntConstant(m, "COMBINE_SUM", SHMSTATS_GAUGE_SUM) < 0 ||
      PyModule_AddIntConstant(m, "COMBINE_MAX", SHMSTATS_GAUGE_MAX) < 0 ||
      PyModule_AddIntConstant(m, "COMBINE_MIN", SHMSTATS_GAUGE_MIN) < 0 ||
      PyModule_AddIntConstant(m, "COMBINE_MOST_RECENT", SHMSTATS_GAUGE_MOST_RECENT) < 0 ||
      PyModule_AddIntConstant(m, "COMBINE_LIVE_ONLY", SHMSTATS_GAUGE_LIVE_ONLY) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}

static PyObject* segment_delete(PyObject* self, PyObject* args) {
  PyObject *name, *labels = Py_None, *seq = NULL, *result = NULL;
  shmstats_label* lab = NULL;
  Py_ssize_t n = 0;
  uint32_t deleted = 0;
  shmstats_status st;
  const char* nm;
  if (!PyArg_ParseTuple(args, "U|O", &name, &labels)) return NULL;
  if (!(nm = utf8_no_nul(name, "the metric name"))) return NULL;
  if (labels != Py_None && !(seq = label_array(labels, &lab, &n))) return NULL;
  st = shmstats_segment_delete(((SegmentObject*)self)->seg, nm, lab, (size_t)n, labels == Py_None,
                               &deleted);
  result = st == SHMSTATS_OK ? PyLong_FromUnsignedLong(deleted) : raise_status(st);
  Py_XDECREF(seq);
  PyMem_Free(lab);
  return result;
}
