"""shmstats: prometheus_client's Counter, Gauge and Histogram over a shmstats
shared-memory segment, for every process at once.

    from shmstats import Counter
    c = Counter("jobs", "Jobs done", ["queue"])   # series jobs_total{queue=...}
    c.labels("mail").inc()

The segment is $SHMSTATS_SEGMENT (default "shmstats"), created if missing, or the
`segment=` argument of a metric. read() and reset() are for tests and tools."""
from . import _native
from ._native import Error
from .metrics import DEFAULT_BUCKETS, Counter, Exponential, Gauge, Histogram, default_segment_name

__all__ = ["Counter", "Gauge", "Histogram", "Exponential", "DEFAULT_BUCKETS", "Error", "read",
           "reset"]


def read(segment=None):
    """Every metric of the segment, as a list of dicts."""
    return _native.segment(segment or default_segment_name()).read()


def reset(name=None, segment=None):
    """Atomically zeroes every series called `name` (all when None); returns how many."""
    import ctypes
    n = ctypes.c_size_t()
    s = _native.segment(segment or default_segment_name())
    _native.check(_native.reset(s.handle, name.encode() if name else None, ctypes.byref(n)))
    return n.value
