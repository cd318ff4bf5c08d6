# SPDX-License-Identifier: Apache-2.0
"""shmstats: prometheus_client's metrics over one shmstats shared-memory segment,
shared by every process (no per-process files, no lock, no multiprocess directory).

    from shmstats import Counter
    c = Counter("jobs", "Jobs done", ["queue"])   # series jobs_total{queue=...}
    c.labels("mail").inc()

The segment is $SHMSTATS_SEGMENT (default "shmstats"), created if missing, or the
`segment=` argument of a metric. read() and reset() are for tests and tools."""
from ._shmstats import Error
from .metrics import (DEFAULT_BUCKETS, Counter, Enum, Exponential, Gauge, Histogram, Info,
                      Summary, default_segment_name, reattach, sample_functions, segment)

__all__ = ["Counter", "Gauge", "Histogram", "Summary", "Info", "Enum", "Exponential",
           "DEFAULT_BUCKETS", "Error", "read", "reset", "reattach", "sample_functions",
           "remove_segment"]


def read(name=None):
    """Every metric of the segment, as a list of dicts (name, labels, type, value or
    bounds/buckets/sum/count)."""
    return segment(name).read()


def reset(metric=None, segment_name=None):
    """Atomically zeroes every series called `metric` (all when None); returns how many."""
    return segment(segment_name).reset(metric)


def remove_segment(name=None):
    """Unlinks the segment; False if there was none. Other processes that use it
    re-attach to a new one (see reattach()); this process forgets it: its series
    already registered stay bound to the removed mapping, and a new registration
    creates the segment again."""
    from . import metrics
    from ._shmstats import remove_segment as remove
    name = name or default_segment_name()
    with metrics._lock:
        metrics._segments.pop(name, None)
        return remove(name)
