"""Counter, Gauge and Histogram with prometheus_client's API, recording into a
shmstats segment shared by every process (no per-process files, no lock)."""
import contextlib
import copy
import ctypes
import math
import os
import re
import threading
import time
import weakref

from . import _native

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

INF = float("inf")
# Module globals: one dictionary lookup fewer per call than _native.<name>.
_counter_inc = _native.counter_inc
_gauge_set = _native.gauge_set
_gauge_add = _native.gauge_add
_histogram_observe = _native.histogram_observe
# prometheus_client's default buckets.
DEFAULT_BUCKETS = (.005, .01, .025, .05, .075, .1, .25, .5, .75, 1.0, 2.5, 5.0, 7.5, 10.0, INF)


def default_segment_name():
    return os.environ.get("SHMSTATS_SEGMENT") or "shmstats"


class Exponential:
    """Exponential buckets with a bounded relative error (2**-precision_bits):
    pass as Histogram(..., buckets=Exponential(min, max, precision_bits))."""

    def __init__(self, min=1e-6, max=1e4, precision_bits=3):
        self.min, self.max, self.precision_bits = float(min), float(max), int(precision_bits)

    def apply(self, opts, keep):
        opts.bucket_kind = _native.BUCKETS_EXPONENTIAL
        opts.min, opts.max, opts.precision_bits = self.min, self.max, self.precision_bits


class _Explicit:
    def __init__(self, bounds):
        bounds = [float(b) for b in bounds]
        if bounds and bounds[-1] == INF:
            bounds.pop()
        self.bounds = bounds

    def apply(self, opts, keep):
        arr = (ctypes.c_double * len(self.bounds))(*self.bounds)
        keep.append(arr)
        opts.bucket_kind = _native.BUCKETS_EXPLICIT
        opts.bounds, opts.n_bounds = arr, len(self.bounds)


class _Fresh(contextlib.ContextDecorator):
    """A context manager that also decorates: each decorated call runs in a copy, so
    concurrent and nested calls do not share the start time."""

    def _recreate_cm(self):
        return copy.copy(self)


class _Timer(_Fresh):
    """What .time() returns: a context manager and a decorator."""

    def __init__(self, observe):
        self._observe = observe

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self._observe(max(time.perf_counter() - self._start, 0))


class _ExceptionCounter(_Fresh):
    def __init__(self, counter, exception):
        self._counter, self._exception = counter, exception

    def __enter__(self):
        return self

    def __exit__(self, typ, value, traceback):
        if isinstance(value, self._exception):
            self._counter.inc()


class _InProgress(_Fresh):
    def __init__(self, gauge):
        self._gauge = gauge

    def __enter__(self):
        self._gauge.inc()

    def __exit__(self, *exc):
        self._gauge.dec()


# Process-scoped series of this process; a child after fork() registers its own.
_process_scoped = weakref.WeakSet()
_process_lock = threading.Lock()


def _register_again_after_fork():
    for metric in list(_process_scoped):
        metric._register()


os.register_at_fork(after_in_child=_register_again_after_fork)
_SCOPES = {"shared": _native.SCOPE_SHARED, "process": _native.SCOPE_PROCESS}


class _Metric:
    _kind = None

    def __init__(self, name, documentation, labelnames=(), namespace="", subsystem="", unit="",
                 registry=None, _labelvalues=None, segment=None, scope="shared", **kwargs):
        full = "_".join(p for p in (namespace, subsystem, name) if p)
        if unit and not full.endswith("_" + unit):
            full += "_" + unit
        full = self._full_name(full)
        if not _METRIC_NAME.match(full):
            raise ValueError(f"Invalid metric name: {full!r}: use [a-zA-Z_:][a-zA-Z0-9_:]*")
        if isinstance(labelnames, str):
            labelnames = (labelnames,)
        labelnames = tuple(labelnames)
        for label in labelnames:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"Invalid label metric name: {label!r}: use "
                                 "[a-zA-Z_][a-zA-Z0-9_]* not starting with __")
            if self._kind == _native.HISTOGRAM and label == "le":
                raise ValueError("Invalid label name for a histogram: le is reserved")
        self._name, self._documentation, self._unit = full, documentation, unit
        self._labelnames, self._labelvalues = labelnames, tuple(_labelvalues or ())
        self._segment_name = segment or default_segment_name()
        if scope not in _SCOPES:
            raise ValueError(f"scope must be 'shared' or 'process', not {scope!r}")
        self._scope = scope
        self._kwargs = kwargs
        self._children = {}
        if not self._labelnames or self._labelvalues:
            self._segment = _native.segment(self._segment_name)
            self._handle = None
            self._register()
            # A c_void_p instance: ctypes passes it without a conversion (an int
            # address would be converted on every call).
            self._ptr = ctypes.c_void_p(ctypes.addressof(self._handle))
            if scope == "process":
                with _process_lock:
                    _process_scoped.add(self)
            self._bind()
        else:
            for method in self._recording:
                setattr(self, method, self._unbound)

    _recording = ()

    def _register(self):
        # In place when registering again (after fork): _ptr keeps its address.
        self._handle = self._segment.register(
            self._kind, self._name, list(zip(self._labelnames, self._labelvalues)), self._documentation, self._unit,
            self._buckets() if self._kind == _native.HISTOGRAM else None, _SCOPES[self._scope],
            self._handle)

    def _unbound(self, *args, **kwargs):
        raise ValueError(f"{self._name} has labels {self._labelnames}: record through "
                         ".labels(...)")

    def _full_name(self, name):
        return name

    def _buckets(self):
        return None

    def _bind(self):
        pass

    def labels(self, *labelvalues, **labelkwargs):
        """The child series for these label values (positional or by name)."""
        if not self._labelnames:
            raise ValueError(f"No label names were set when constructing {self._name}")
        if self._labelvalues:
            raise ValueError(f"{self._name} already has labels set ({self._labelvalues}); "
                             "can not chain calls to .labels()")
        if labelvalues and labelkwargs:
            raise ValueError("Can't pass both *args and **kwargs")
        if labelkwargs:
            if sorted(labelkwargs) != sorted(self._labelnames):
                raise ValueError("Incorrect label names")
            labelvalues = tuple(str(labelkwargs[n]) for n in self._labelnames)
        else:
            if len(labelvalues) != len(self._labelnames):
                raise ValueError("Incorrect label count")
            labelvalues = tuple(str(v) for v in labelvalues)
        child = self._children.get(labelvalues)
        if child is None:
            child = self.__class__(self._name, self._documentation, self._labelnames,
                                   _labelvalues=labelvalues, segment=self._segment_name,
                                   scope=self._scope, **self._child_kwargs())
            self._children[labelvalues] = child
        return child

    def remove(self, *labelvalues):
        """Forgets a child here; the series stays in the shared segment."""
        self._children.pop(tuple(str(v) for v in labelvalues), None)

    def clear(self):
        self._children.clear()

    def _child_kwargs(self):
        return {}

    def _require_bound(self):
        if self._labelnames and not self._labelvalues:
            raise ValueError(f"{self._name} has labels: call .labels(...) first")


class Counter(_Metric):
    """A monotonic counter. Named like prometheus_client's: "_total" is added unless
    the name has it. inc() of a fraction carries the fraction in this process."""
    _kind = _native.COUNTER
    _recording = ("inc",)

    def _full_name(self, name):
        return name if name.endswith("_total") else name + "_total"

    def _bind(self):
        self._carry = 0.0

    def inc(self, amount=1):
        if amount == 1:
            _counter_inc(self._ptr, 1)
        else:
            self._inc_other(amount)

    def _inc_other(self, amount):
        self._require_bound()
        if type(amount) is int and amount >= 0:
            _counter_inc(self._ptr, amount)
            return
        if amount < 0 or not math.isfinite(amount):
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self._carry += amount
        whole = int(self._carry)
        self._carry -= whole
        if whole:
            _counter_inc(self._ptr, whole)

    def count_exceptions(self, exception=Exception):
        """Counts exceptions of that type raised in a block or a decorated function."""
        self._require_bound()
        return _ExceptionCounter(self, exception)


class Gauge(_Metric):
    """A gauge holding a double. By default shared by every process (the last set()
    wins; inc and dec add atomically). prometheus_client's multiprocess_mode
    "livesum" (or scope="process") gives each process its own gauge, summed by
    readers over the processes alive: a dead worker's value disappears. The other
    modes keep one shared gauge."""
    _kind = _native.GAUGE
    _recording = ("inc", "dec", "set", "set_to_current_time")

    def __init__(self, *args, multiprocess_mode="all", **kwargs):
        if multiprocess_mode == "livesum":
            kwargs["scope"] = "process"
        super().__init__(*args, **kwargs)

    def inc(self, amount=1):
        _gauge_add(self._ptr, amount)

    def dec(self, amount=1):
        _gauge_add(self._ptr, -amount)

    def set(self, value):
        _gauge_set(self._ptr, float(value))

    def set_to_current_time(self):
        self.set(time.time())

    def time(self):
        self._require_bound()
        return _Timer(self.set)

    def track_inprogress(self):
        self._require_bound()
        return _InProgress(self)


class Histogram(_Metric):
    """A histogram: prometheus_client's default buckets, explicit bounds, or
    Exponential(min, max, precision_bits)."""
    _kind = _native.HISTOGRAM
    _recording = ("observe",)

    def __init__(self, name, documentation, labelnames=(), namespace="", subsystem="", unit="",
                 registry=None, _labelvalues=None, buckets=DEFAULT_BUCKETS, segment=None,
                 scope="shared"):
        self._bucket_spec = buckets if isinstance(buckets, Exponential) else _Explicit(buckets)
        if isinstance(self._bucket_spec, _Explicit):
            b = self._bucket_spec.bounds
            if any(x >= y for x, y in zip(b, b[1:])):
                raise ValueError("Buckets not in sorted order")
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, segment, scope)

    def _buckets(self):
        return self._bucket_spec

    def _child_kwargs(self):
        return {"buckets": self._bucket_spec if isinstance(self._bucket_spec, Exponential)
                else self._bucket_spec.bounds}

    def observe(self, amount):
        _histogram_observe(self._ptr, amount)

    def time(self):
        self._require_bound()
        return _Timer(self.observe)
