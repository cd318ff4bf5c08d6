"""The C ABI (shmstats/shmstats_c.h) through ctypes: structures, functions, errors.

Private to the package. The structures mirror the header field for field; the size
that shmstats_metric_options_init writes is checked against ours at load time, so a
library of another ABI is refused with a clear error rather than misread."""
import ctypes
import ctypes.util
import os
import threading
from ctypes import (POINTER, Structure, c_char_p, c_double, c_int, c_int32, c_int64, c_size_t,
                    c_uint8, c_uint16, c_uint32, c_uint64, c_void_p)

ABI_MAJOR = 0
ABI_MINOR = 3  # the handles' layout of 0.2 (issue 10); scope and retire_exited (0.3, issue 9)
SCOPE_SHARED, SCOPE_PROCESS = 0, 1

OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, TYPE_MISMATCH, FULL = 0, 1, 2, 3, 4, 5
COUNTER, GAUGE, HISTOGRAM = 1, 2, 3
BUCKETS_EXPONENTIAL, BUCKETS_EXPLICIT = 0, 1


class Error(RuntimeError):
    """A set-up call of libshmstats failed; .status is the shmstats_status code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Label(Structure):
    _fields_ = [("name", c_char_p), ("value", c_char_p)]


class SegmentOptions(Structure):
    _fields_ = [("size", c_uint32), ("max_metrics", c_uint32), ("max_slots", c_uint32),
                ("mode", c_uint32), ("group", c_int64), ("reserved", c_uint64 * 4)]


class MetricOptions(Structure):
    _fields_ = [("size", c_uint32), ("flags", c_uint32), ("name", c_char_p),
                ("labels", POINTER(Label)), ("n_labels", c_size_t), ("help", c_char_p),
                ("unit", c_char_p), ("bucket_kind", c_int32), ("precision_bits", c_int32),
                ("min", c_double), ("max", c_double), ("bounds", POINTER(c_double)),
                ("n_bounds", c_size_t), ("striping", c_uint64), ("scope", c_uint64),
                ("zero_threshold", c_double), ("reserved", c_uint64 * 5)]


class CounterHandle(Structure):
    _fields_ = [("slot", c_void_p), ("stripe_mask", c_uint32)]


class GaugeHandle(Structure):
    _fields_ = [("slot", c_void_p)]


class HistogramHandle(Structure):
    _fields_ = [("slots", c_void_p), ("cells_or_bounds", c_void_p), ("min_key", c_int64),
                ("last", c_int64), ("shift", c_int32), ("n_bounds", c_uint16),
                ("kind", c_uint8), ("stripe_mask", c_uint8), ("stripe_stride", c_uint16),
                ("coarse_shift", c_uint8), ("zero_bits", c_uint64)]


class MetricValue(Structure):
    _fields_ = [("name", c_char_p), ("labels", POINTER(Label)), ("n_labels", c_size_t),
                ("type", c_int32), ("precision_bits", c_int32), ("help", c_char_p),
                ("unit", c_char_p), ("counter", c_uint64), ("gauge", c_double),
                ("bounds", POINTER(c_double)), ("bucket_counts", POINTER(c_uint64)),
                ("n_buckets", c_size_t), ("sum", c_double), ("count", c_uint64)]


def _load():
    path = os.environ.get("SHMSTATS_LIBRARY") or ctypes.util.find_library("shmstats")
    names = [path] if path else []
    names.append(f"libshmstats.so.{ABI_MAJOR}")
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("shmstats: cannot load libshmstats (install the shmstats library, or "
                      "set SHMSTATS_LIBRARY to its path): " + "; ".join(errors))


lib = _load()


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


abi_version = _fn("shmstats_abi_version", c_uint32)
last_error = _fn("shmstats_last_error", c_char_p)
segment_options_init = _fn("shmstats_segment_options_init", None, POINTER(SegmentOptions))
segment_open_or_create = _fn("shmstats_segment_open_or_create", c_int, c_char_p,
                             POINTER(SegmentOptions), POINTER(c_void_p))
segment_open = _fn("shmstats_segment_open", c_int, c_char_p, c_int, POINTER(c_void_p))
segment_remove = _fn("shmstats_segment_remove", c_int, c_char_p)
segment_close = _fn("shmstats_segment_close", None, c_void_p)
metric_options_init = _fn("shmstats_metric_options_init", None, POINTER(MetricOptions))
register_counter = _fn("shmstats_register_counter", c_int, c_void_p, POINTER(MetricOptions),
                       POINTER(CounterHandle))
register_gauge = _fn("shmstats_register_gauge", c_int, c_void_p, POINTER(MetricOptions),
                     POINTER(GaugeHandle))
register_histogram = _fn("shmstats_register_histogram", c_int, c_void_p,
                         POINTER(MetricOptions), POINTER(HistogramHandle))
# Recording: the handle's address as a c_void_p instance (passed without conversion).
counter_inc = _fn("shmstats_ffi_counter_inc", None, c_void_p, c_uint64)
gauge_set = _fn("shmstats_ffi_gauge_set", None, c_void_p, c_double)
gauge_add = _fn("shmstats_ffi_gauge_add", None, c_void_p, c_double)
histogram_observe = _fn("shmstats_ffi_histogram_observe", None, c_void_p, c_double)
snapshot_read = _fn("shmstats_snapshot_read", c_int, c_void_p, POINTER(c_void_p))
snapshot_count = _fn("shmstats_snapshot_count", c_size_t, c_void_p)
snapshot_metric = _fn("shmstats_snapshot_metric", POINTER(MetricValue), c_void_p, c_size_t)
snapshot_free = _fn("shmstats_snapshot_free", None, c_void_p)
reset = _fn("shmstats_reset", c_int, c_void_p, c_char_p, POINTER(c_size_t))
retire_exited = _fn("shmstats_segment_retire_exited", c_int, c_void_p, POINTER(c_uint32))

if abi_version() // 1000 != ABI_MAJOR:
    raise ImportError(f"shmstats: libshmstats has C ABI {abi_version()}, this package needs "
                      f"major version {ABI_MAJOR}")
if abi_version() % 1000 < ABI_MINOR:
    raise ImportError(f"shmstats: libshmstats has C ABI {abi_version()}, older than the "
                      f"handles of this package (0.{ABI_MINOR}): upgrade libshmstats")
_probe = MetricOptions()
metric_options_init(ctypes.byref(_probe))
if _probe.size != ctypes.sizeof(MetricOptions):
    raise ImportError("shmstats: libshmstats's shmstats_metric_options has another size: "
                      "install the package and the library from the same release")


def check(status):
    """Raises for a failed set-up call: ValueError for what the caller got wrong
    (a bad name, label, bound, or a series of another type), Error otherwise."""
    if status == OK:
        return
    message = last_error().decode("utf-8", "replace")
    if status in (INVALID_ARGUMENT, TYPE_MISMATCH):
        raise ValueError(message)
    raise Error(status, message)


class Segment:
    """An open segment (read-write), closed when garbage-collected."""

    def __init__(self, name, create=True):
        self.name = name
        handle = c_void_p()
        if create:
            check(segment_open_or_create(name.encode(), None, ctypes.byref(handle)))
        else:
            check(segment_open(name.encode(), 0, ctypes.byref(handle)))
        self.handle = handle

    def __del__(self):
        # Handles registered from it keep pointing into the mapping: a Segment that
        # registered metrics is kept alive by them (see metrics.py).
        if getattr(self, "handle", None):
            segment_close(self.handle)
            self.handle = None

    def register(self, kind, name, labels, help_text, unit, buckets=None, scope=SCOPE_SHARED,
                 into=None):
        """Registers a series; returns its handle (written into `into`, a handle of
        the same kind, when given: re-registration after fork keeps its address)."""
        opts = MetricOptions()
        metric_options_init(ctypes.byref(opts))
        opts.name = name.encode()
        opts.scope = scope
        keep = []
        if labels:
            arr = (Label * len(labels))()
            for i, (k, v) in enumerate(labels):
                arr[i].name, arr[i].value = k.encode(), v.encode()
            opts.labels, opts.n_labels = arr, len(labels)
            keep.append(arr)
        opts.help = help_text.encode() if help_text else None
        opts.unit = unit.encode() if unit else None
        if kind == COUNTER:
            handle = CounterHandle()
            check(register_counter(self.handle, ctypes.byref(opts), ctypes.byref(handle)))
        elif kind == GAUGE:
            handle = GaugeHandle()
            check(register_gauge(self.handle, ctypes.byref(opts), ctypes.byref(handle)))
        else:
            buckets.apply(opts, keep)
            handle = HistogramHandle()
            check(register_histogram(self.handle, ctypes.byref(opts), ctypes.byref(handle)))
        if into is None:
            return handle
        ctypes.memmove(ctypes.addressof(into), ctypes.addressof(handle), ctypes.sizeof(handle))
        return into

    def retire_exited(self):
        """Retires the process-scoped series of exited processes (shmstatsd does it
        every tick); returns how many."""
        n = c_uint32()
        check(retire_exited(self.handle, ctypes.byref(n)))
        return n.value

    def read(self):
        """Every metric as a dict: name, labels, type, value / buckets, sum, count."""
        snap = c_void_p()
        check(snapshot_read(self.handle, ctypes.byref(snap)))
        try:
            out = []
            for i in range(snapshot_count(snap)):
                m = snapshot_metric(snap, i).contents
                d = {"name": m.name.decode(), "type": m.type,
                     "labels": {m.labels[j].name.decode(): m.labels[j].value.decode()
                                for j in range(m.n_labels)}}
                if m.type == COUNTER:
                    d["value"] = m.counter
                elif m.type == GAUGE:
                    d["value"] = m.gauge
                else:
                    d["bounds"] = [m.bounds[j] for j in range(m.n_buckets - 1)]
                    d["buckets"] = [m.bucket_counts[j] for j in range(m.n_buckets)]
                    d["sum"], d["count"] = m.sum, m.count
                out.append(d)
            return out
        finally:
            snapshot_free(snap)


_segments = {}
_lock = threading.Lock()


def segment(name):
    """The process's one Segment of that name (opened or created on first use; a
    forked child shares its parent's mapping, which stays valid)."""
    with _lock:
        s = _segments.get(name)
        if s is None:
            s = _segments[name] = Segment(name)
        return s
