# SPDX-License-Identifier: Apache-2.0
"""prometheus_client's metric classes over a shmstats segment shared by every process.

Recording (Counter.inc, Gauge.inc/dec/set, Histogram.observe) is a C method of the
extension's cores (_shmstats.c); this module holds the cold path: names, labels,
children, context managers and decorators, with prometheus_client's behaviour and
error messages. See README.md for what differs and why."""
import functools
import os
import re
import threading
import time
import weakref

from . import _shmstats

INF = float("inf")
# prometheus_client's default buckets.
DEFAULT_BUCKETS = (.005, .01, .025, .05, .075, .1, .25, .5, .75, 1.0, 2.5, 5.0, 7.5, 10.0, INF)

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_COUNTER, _GAUGE, _HISTOGRAM = 1, 2, 3
_SHARED, _PROCESS = 0, 1


def default_segment_name():
    return os.environ.get("SHMSTATS_SEGMENT") or "shmstats"


# ---- segments: one per name and process, re-attached when replaced ----

_lock = threading.RLock()
_segments = {}
# Every bound core, to bind again after the segment is replaced (and, for
# process-scoped series, in a child after fork).
_bound = weakref.WeakSet()
_sampled = weakref.WeakSet()  # gauges with set_function


def segment(name=None):
    """The process's open segment of that name (default $SHMSTATS_SEGMENT or
    "shmstats"), created if missing."""
    name = name or default_segment_name()
    with _lock:
        s = _segments.get(name)
        if s is None:
            s = _segments[name] = _shmstats.Segment(name)
            _Watcher.start()
        return s


def reattach():
    """Opens again every segment whose name no longer names the mapping this process
    uses (removed, or removed and created again), and binds every series registered
    through it to the new one. The watcher thread calls it every
    $SHMSTATS_CHECK_INTERVAL seconds (default 1); call it yourself to act at once.
    Returns the names of the segments re-attached."""
    done = []
    with _lock:
        for name, old in list(_segments.items()):
            if not old.replaced():
                continue
            new = _segments[name] = _shmstats.Segment(name)
            for metric in list(_bound):
                if metric._segment is old:
                    metric._register(new)
            done.append(name)
    return done


class _Watcher:
    """One daemon thread per process: re-attaches replaced segments and samples the
    gauges of set_function, every $SHMSTATS_CHECK_INTERVAL seconds (default 1)."""
    thread = None
    stop = threading.Event()

    @classmethod
    def start(cls):
        if cls.thread is None or not cls.thread.is_alive():
            cls.thread = threading.Thread(target=cls.run, name="shmstats-watcher", daemon=True)
            cls.thread.start()

    @classmethod
    def run(cls):
        interval = float(os.environ.get("SHMSTATS_CHECK_INTERVAL") or 1)
        while not cls.stop.wait(interval):
            try:
                reattach()
                sample_functions()
            except Exception:  # a failing callback or a missing /dev/shm: try again later
                pass


def sample_functions():
    """Calls every set_function callback of this process and sets its gauge (the
    watcher does it every interval; readers see the value of the last sample)."""
    for gauge in list(_sampled):
        f = gauge._function
        if f is not None:
            _shmstats.GaugeCore.set(gauge, float(f()))


def _after_fork_in_child():
    global _lock
    _lock = threading.RLock()
    _Watcher.thread = None
    if _segments:
        _Watcher.start()
    pid = os.getpid()
    for metric in list(_bound):
        if metric._per_process():
            metric._register(metric._segment, pid)


os.register_at_fork(after_in_child=_after_fork_in_child)


# ---- names and labels, as prometheus_client checks them ----

def _full_name(kind, name, namespace, subsystem, unit):
    full = "".join(p + "_" for p in (namespace, subsystem) if p) + name
    if kind == "counter" and full.endswith("_total"):
        full = full[:-6]
    if unit and not full.endswith("_" + unit):
        full += "_" + unit
    if unit and kind in ("info", "stateset"):
        raise ValueError("Metric name is of a type that cannot have a unit: " + full)
    return full


def _validate_labelname(label):
    if not _LABEL_NAME.match(label):
        raise ValueError("Invalid label metric name: " + label)
    if label.startswith("__"):
        raise ValueError("Reserved label metric name: " + label)


def _validate_exemplar(exemplar):
    runes = 0
    for k, v in exemplar.items():
        _validate_labelname(k)
        runes += len(k) + len(v)
    if runes > 128:
        raise ValueError("Exemplar labels have %d UTF-8 characters, exceeding the limit of 128"
                         % runes)


# ---- context managers and decorators (signatures kept by functools.wraps) ----

class _Decorating:
    def __call__(self, f):
        @functools.wraps(f)
        def wrapped(*args, **kwargs):
            with self._fresh():
                return f(*args, **kwargs)
        return wrapped

    def _fresh(self):
        return self


class _ExceptionCounter(_Decorating):
    def __init__(self, counter, exception):
        self._counter, self._exception = counter, exception

    def __enter__(self):
        pass

    def __exit__(self, typ, value, traceback):
        if isinstance(value, self._exception):
            self._counter.inc()
        return False


class _InprogressTracker(_Decorating):
    def __init__(self, gauge):
        self._gauge = gauge

    def __enter__(self):
        self._gauge.inc()

    def __exit__(self, typ, value, traceback):
        self._gauge.dec()


class _Timer(_Decorating):
    """What .time() returns: a context manager (whose .labels() picks the child to
    record into, as prometheus_client's) and a decorator."""

    def __init__(self, metric, callback_name):
        self._metric, self._callback_name = metric, callback_name

    def _fresh(self):
        return _Timer(self._metric, self._callback_name)

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, typ, value, traceback):
        duration = max(time.perf_counter() - self._start, 0)
        getattr(self._metric, self._callback_name)(duration)

    def labels(self, *args, **kw):
        self._metric = self._metric.labels(*args, **kw)


# ---- the metrics ----

class _Wrapper:
    """prometheus_client's MetricWrapperBase over a core: a metric without labels,
    a labelled parent (records nothing: its children do) or a child."""
    _type = None
    _kind = None
    _reserved_labelnames = ()
    _pid_label = False

    def __init__(self, name, documentation, labelnames=(), namespace="", subsystem="", unit="",
                 registry=None, _labelvalues=None, segment=None, scope="shared",
                 ttl_seconds=0, family_limit=0):
        self._name = _full_name(self._type, name, namespace, subsystem, unit)
        if isinstance(labelnames, str):
            labelnames = (labelnames,)
        self._labelnames = tuple(labelnames)
        for label in self._labelnames:
            _validate_labelname(label)
            if label in self._reserved_labelnames:
                raise ValueError("Reserved label metric name: " + label)
        self._labelvalues = tuple(_labelvalues or ())
        self._documentation, self._unit = documentation, unit
        if not _METRIC_NAME.match(self._name):
            raise ValueError("Invalid metric name: " + self._name)
        if scope not in ("shared", "process"):
            raise ValueError(f"scope must be 'shared' or 'process', not {scope!r}")
        self._scope = _PROCESS if scope == "process" else _SHARED
        self._segment_name = segment
        # Series lifecycle (shmstats.MetricSpec): deleted by shmstatsd after
        # ttl_seconds without a change; at most family_limit label sets, the rest
        # recording into the series labelled otel_metric_overflow="true".
        self._ttl_seconds, self._family_limit = int(ttl_seconds), int(family_limit)
        self._kwargs = {"segment": segment, "scope": scope, "ttl_seconds": ttl_seconds,
                        "family_limit": family_limit}
        self._set_kind(self._type)
        if self._is_parent():
            self._children_lock = threading.Lock()
            self._metrics = {}
        if self._is_observable():
            self._metric_init()

    def __str__(self):
        return f"{self._type}:{self._name}"

    def __repr__(self):
        return f"{type(self).__module__}.{type(self).__name__}({self._name})"

    def _is_observable(self):
        return not self._labelnames or bool(self._labelvalues)

    def _is_parent(self):
        return bool(self._labelnames) and not self._labelvalues

    def _raise_if_not_observable(self):
        if not self._is_observable():
            raise ValueError("%s metric is missing label values" % str(self._type))

    def _series_name(self):
        return self._name

    def _series_labels(self, pid):
        labels = list(zip(self._labelnames, self._labelvalues))
        if self._pid_label:
            labels.append(("pid", str(pid)))
        return labels

    def _metric_init(self):
        self._register(segment(self._segment_name), os.getpid())

    def _register(self, seg, pid=None):
        """Registers (again) into seg; pid: the process the series belongs to."""
        self._segment = seg
        self._bind(seg, self._kind, self._series_name(), self._series_labels(pid or os.getpid()),
                   self._documentation or "", self._unit or "", self._scope, *self._layout(),
                   ttl_seconds=self._ttl_seconds, family_limit=self._family_limit)
        _bound.add(self)

    def _layout(self):
        return ()

    def _per_process(self):
        """True when a forked child records into series of its own."""
        return self._scope == _PROCESS or self._pid_label

    def labels(self, *labelvalues, **labelkwargs):
        """The child series for these label values, by position or by name."""
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)
        if self._labelvalues:
            raise ValueError("{} already has labels set ({}); can not chain calls to .labels()"
                             .format(self, dict(zip(self._labelnames, self._labelvalues))))
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
        child = self._metrics.get(labelvalues)
        if child is None:
            with self._children_lock:
                child = self._metrics.get(labelvalues)
                if child is None:
                    child = self._metrics[labelvalues] = self.__class__(
                        self._name, documentation=self._documentation,
                        labelnames=self._labelnames, unit=self._unit,
                        _labelvalues=labelvalues, **self._kwargs)
        return child

    def remove(self, *labelvalues):
        """Deletes the series of these label values from the segment, for every process
        (Segment::Delete: readers stop showing it at once), and forgets its child here.
        KeyError if neither this process nor the segment has it. A later labels() call
        brings it back from zero; other processes' children of it record into it again
        once it is registered again."""
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)
        if len(labelvalues) != len(self._labelnames):
            raise ValueError("Incorrect label count (expected %d, got %s)"
                             % (len(self._labelnames), labelvalues))
        labelvalues = tuple(str(v) for v in labelvalues)
        with self._children_lock:
            child = self._metrics.pop(labelvalues, None)
            if self._delete(labelvalues) == 0 and child is None:
                raise KeyError(labelvalues)

    def clear(self):
        """Deletes every series of this metric from the segment (for every process)
        and forgets its children here."""
        with self._children_lock:
            self._metrics = {}
            self._delete(None)

    def _delete(self, labelvalues):
        """Deletes the series of these label values (every one when None) from the
        segment; returns how many. A gauge labelled by pid: this process's."""
        labels = None
        if labelvalues is not None:
            labels = list(zip(self._labelnames, labelvalues))
            if self._pid_label:
                labels.append(("pid", str(os.getpid())))
        return segment(self._segment_name).delete(self._series_name(), labels)

    def _record_kw(self, method, *args, **kwargs):
        """The keyword form of a recording call (the C method's slow path)."""
        return getattr(self, "_" + method + "_kw")(*args, **kwargs)

    def _exemplar(self, value, exemplar):
        """Stores the exemplar with the series (a histogram's: with the bucket of value),
        as prometheus_client keeps it: after the record, which an invalid exemplar does
        not undo. Dropped when the segment's exemplar region is full."""
        if exemplar:
            _validate_exemplar(exemplar)
            self._raise_if_not_observable()
            type(self)._core._exemplar(self, float(value),
                                       [(str(k), str(v)) for k, v in exemplar.items()])


class Counter(_Wrapper, _shmstats.CounterCore):
    """A counter of doubles: inc(amount) for any amount >= 0, fractions kept as
    prometheus_client keeps them. Its series is the name with "_total"."""
    _type = "counter"
    _core = _shmstats.CounterCore
    _kind = _COUNTER

    def _series_name(self):
        return self._name + "_total"

    def _inc_kw(self, amount=1, exemplar=None):
        _shmstats.CounterCore.inc(self, amount)
        self._exemplar(amount, exemplar)

    def count_exceptions(self, exception=Exception):
        """Counts the exceptions of that type (or tuple of types) raised out of a block
        or a decorated function."""
        self._raise_if_not_observable()
        return _ExceptionCounter(self, exception)

    def reset(self):
        """Zeroes every series of this counter's name in the segment, atomically (an
        increment racing the reset is never lost): all label values at once."""
        self._raise_if_not_observable()
        self._segment.reset(self._series_name())


_LIVE = _shmstats.COMBINE_LIVE_ONLY
_GAUGE_MODES = {
    # mode: (scope, pid label, how set() writes the slot, how readers combine the
    # live processes' gauges into the shared series)
    "all": (_SHARED, True, _shmstats.GAUGE_STORE, 0),
    "liveall": (_PROCESS, True, _shmstats.GAUGE_STORE, _shmstats.COMBINE_SUM | _LIVE),
    "sum": (_SHARED, False, _shmstats.GAUGE_SUM, 0),
    "livesum": (_PROCESS, False, _shmstats.GAUGE_STORE, _shmstats.COMBINE_SUM),
    "max": (_SHARED, False, _shmstats.GAUGE_MAX, 0),
    "min": (_SHARED, False, _shmstats.GAUGE_MIN, 0),
    "livemax": (_PROCESS, False, _shmstats.GAUGE_STORE, _shmstats.COMBINE_MAX | _LIVE),
    "livemin": (_PROCESS, False, _shmstats.GAUGE_STORE, _shmstats.COMBINE_MIN | _LIVE),
    "mostrecent": (_SHARED, False, _shmstats.GAUGE_STORE, 0),
    "livemostrecent": (_PROCESS, False, _shmstats.GAUGE_STAMPED,
                       _shmstats.COMBINE_MOST_RECENT | _LIVE),
}


class Gauge(_Wrapper, _shmstats.GaugeCore):
    """A gauge of doubles, with prometheus_client's multiprocess modes in one shared
    segment (README.md, "Gauge modes")."""
    _type = "gauge"
    _kind = _GAUGE
    _MULTIPROC_MODES = frozenset(_GAUGE_MODES)

    def __init__(self, name, documentation, labelnames=(), namespace="", subsystem="", unit="",
                 registry=None, _labelvalues=None, multiprocess_mode="all", segment=None,
                 scope=None, ttl_seconds=0, family_limit=0):
        if multiprocess_mode not in _GAUGE_MODES:
            raise ValueError("Invalid multiprocess mode: " + multiprocess_mode)
        self._multiprocess_mode = multiprocess_mode
        mode_scope, self._pid_label, self._set_mode, self._combine = \
            _GAUGE_MODES[multiprocess_mode]
        if scope is None:
            scope = "process" if mode_scope == _PROCESS else "shared"
        self._function = None
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, segment, scope, ttl_seconds, family_limit)
        self._kwargs["multiprocess_mode"] = multiprocess_mode
        self._set_kind(self._type, self._set_mode)

    def _per_process(self):
        return super()._per_process() or self._set_mode != _shmstats.GAUGE_STORE

    def _bind(self, *args, **kw):
        _shmstats.GaugeCore._bind(self, *args, gauge_combine=self._combine, **kw)

    def set_to_current_time(self):
        self.set(time.time())

    def track_inprogress(self):
        """inc() on entry, dec() on exit: a context manager and a decorator."""
        self._raise_if_not_observable()
        return _InprogressTracker(self)

    def time(self):
        """Sets the gauge to the seconds a block or decorated call took."""
        return _Timer(self, "set")

    def set_function(self, f):
        """Samples f() into the gauge: at once, then every $SHMSTATS_CHECK_INTERVAL
        seconds (default 1) from the watcher thread, and at sample_functions(). Readers
        of the segment see the last sample (prometheus_client calls f at each scrape:
        a reader of shared memory cannot call into this process)."""
        self._raise_if_not_observable()
        self._function = f
        _shmstats.GaugeCore.set(self, float(f()))
        _sampled.add(self)


class Histogram(_Wrapper, _shmstats.HistogramCore):
    """A histogram: prometheus_client's buckets (explicit bounds, +Inf implied) or
    Exponential(min, max, schema)."""
    _type = "histogram"
    _kind = _HISTOGRAM
    _core = _shmstats.HistogramCore
    _reserved_labelnames = ("le",)

    def __init__(self, name, documentation, labelnames=(), namespace="", subsystem="", unit="",
                 registry=None, _labelvalues=None, buckets=DEFAULT_BUCKETS, segment=None,
                 scope="shared", ttl_seconds=0, family_limit=0):
        if isinstance(buckets, Exponential):
            self._upper_bounds = None
            self._exponential = buckets
        else:
            bounds = [float(b) for b in buckets]
            if bounds != sorted(bounds):
                raise ValueError("Buckets not in sorted order")
            if bounds and bounds[-1] != INF:
                bounds.append(INF)
            if len(bounds) < 2:
                raise ValueError("Must have at least two buckets")
            self._upper_bounds = bounds
            self._exponential = None
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, segment, scope, ttl_seconds, family_limit)
        self._kwargs["buckets"] = buckets

    def _layout(self):
        if self._exponential is not None:
            e = self._exponential
            return (None, (e.min, e.max, e.schema))
        return (self._upper_bounds[:-1], None)

    def _observe_kw(self, amount, exemplar=None):
        _shmstats.HistogramCore.observe(self, amount)
        self._exemplar(amount, exemplar)

    def time(self):
        """Observes the seconds a block or decorated call took."""
        return _Timer(self, "observe")


class Exponential:
    """Exponential buckets on the Prometheus native-histogram schema (-4..8: 2**schema
    buckets per power of two, relative error at most 2**(2**-schema) - 1), with a zero
    bucket and mirrored negatives: Histogram(..., buckets=Exponential(min, max, schema))."""

    def __init__(self, min=1e-6, max=1e4, schema=3):
        self.min, self.max, self.schema = float(min), float(max), int(schema)


class Summary(_Wrapper):
    """prometheus_client's Summary: a count and a sum (no quantiles), as the series
    <name>_count and <name>_sum, shared by every process."""
    _type = "summary"
    _reserved_labelnames = ("quantile",)

    def _metric_init(self):
        labels = tuple(self._labelnames)
        self._count = Gauge(self._name + "_count", self._documentation, labels,
                            _labelvalues=self._labelvalues, multiprocess_mode="mostrecent",
                            segment=self._segment_name)
        self._sum = Gauge(self._name + "_sum", self._documentation, labels,
                          _labelvalues=self._labelvalues, multiprocess_mode="mostrecent",
                          segment=self._segment_name)

    def _set_kind(self, *args):
        pass

    def _delete(self, labelvalues):
        labels = None if labelvalues is None else list(zip(self._labelnames, labelvalues))
        seg = segment(self._segment_name)
        return sum(seg.delete(self._name + suffix, labels) for suffix in ("_count", "_sum"))

    def observe(self, amount):
        """Adds one to the count and amount to the sum."""
        self._raise_if_not_observable()
        self._count.inc(1)
        self._sum.inc(amount)

    def time(self):
        """Observes the seconds a block or decorated call took."""
        return _Timer(self, "observe")


class Info(_Wrapper):
    """prometheus_client's Info: the series <name>_info with the given labels, 1."""
    _type = "info"

    def _metric_init(self):
        self._labelname_set = set(self._labelnames)
        self._value = None
        self._info_lock = threading.Lock()

    def _set_kind(self, *args):
        pass

    def info(self, val):
        """Sets the info labels. An earlier info() of other labels reads 0 from now on
        (series are not deleted from the shared segment)."""
        if self._labelname_set.intersection(val.keys()):
            raise ValueError("Overlapping labels for Info metric, metric: {} child: {}".format(
                self._labelnames, val))
        with self._info_lock:
            names = self._labelnames + tuple(sorted(val))
            values = self._labelvalues + tuple(str(val[k]) for k in sorted(val))
            gauge = Gauge(self._name + "_info", self._documentation, names,
                          _labelvalues=values, multiprocess_mode="mostrecent",
                          segment=self._segment_name)
            if self._value is not None and self._value is not gauge:
                self._value.set(0)
            gauge.set(1)
            self._value = gauge


class Enum(_Wrapper):
    """prometheus_client's Enum: one series per state, <name>{<name>="state"}, 1 for
    the current state and 0 for the others; the first state is the default."""
    _type = "stateset"

    def __init__(self, name, documentation, labelnames=(), namespace="", subsystem="", unit="",
                 registry=None, _labelvalues=None, states=None, segment=None, scope="shared",
                 ttl_seconds=0, family_limit=0):
        self._states = states
        if name in labelnames:
            raise ValueError(f"Overlapping labels for Enum metric: {name}")
        if not states:
            raise ValueError(f"No states provided for Enum metric: {name}")
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, segment, scope, ttl_seconds, family_limit)
        self._kwargs["states"] = states

    def _set_kind(self, *args):
        pass

    def _delete(self, labelvalues):
        seg = segment(self._segment_name)
        if labelvalues is None:
            return seg.delete(self._name)
        labels = list(zip(self._labelnames, labelvalues))
        return sum(seg.delete(self._name, labels + [(self._name, s)]) for s in self._states)

    def _metric_init(self):
        names = self._labelnames + (self._name,)
        self._gauges = [Gauge(self._name, self._documentation, names,
                              _labelvalues=self._labelvalues + (s,),
                              multiprocess_mode="mostrecent", segment=self._segment_name)
                        for s in self._states]
        self._enum_lock = threading.Lock()
        self.state(self._states[0])

    def state(self, state):
        """Sets the current state (ValueError if it is not one of the states)."""
        self._raise_if_not_observable()
        with self._enum_lock:
            index = self._states.index(state)
            for i, g in enumerate(self._gauges):
                g.set(1 if i == index else 0)
