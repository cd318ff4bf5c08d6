# SPDX-License-Identifier: Apache-2.0
"""Process-scoped series (scope="process", Gauge multiprocess_mode="livesum"): a
dead worker's gauge disappears, its histogram stays, before and after the retirement
that shmstatsd runs every tick; a forked child records into its own. Counters are
float counters, shared by every process (their sum is the multiprocess sum)."""
import multiprocessing

import pytest

import shmstats
from shmstats import Counter, Gauge, Histogram


def value(name):
    found = [m for m in shmstats.read() if m["name"] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def retire():
    return shmstats.segment().retire_exited()


def worker(started, stop):
    Counter("jobs", "Jobs done").inc(5)
    Gauge("busy", "Busy workers", multiprocess_mode="livesum").set(3)
    Histogram("wait_seconds", "Waits", buckets=(1, 2), scope="process").observe(1.5)
    started.set()
    stop.wait(30)


def test_dead_workers_gauge_disappears_and_its_counter_total_stays():
    ctx = multiprocessing.get_context("fork")
    started, stop = ctx.Event(), ctx.Event()
    workers = [ctx.Process(target=worker, args=(started, stop)) for _ in range(2)]
    Counter("jobs", "Jobs done").inc(1)  # the shared series, recorded by the parent
    for w in workers:
        started.clear()
        w.start()
        assert started.wait(30)
    assert value("jobs_total")["value"] == 11
    assert value("busy")["value"] == 6
    assert value("wait_seconds")["count"] == 2
    stop.set()
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    assert value("busy")["value"] == 0          # dead: gone at once
    assert value("jobs_total")["value"] == 11   # still counted until folded
    assert retire() == 4
    assert value("jobs_total")["value"] == 11   # folded into the shared series
    assert value("wait_seconds")["count"] == 2
    assert value("busy")["value"] == 0
    assert retire() == 0


def child_records(c, g):
    c.observe(10)
    g.inc(1)


def test_a_forked_child_records_into_its_own_series():
    c = Histogram("forked", "x", buckets=[1], scope="process")
    g = Gauge("forked_busy", "x", multiprocess_mode="livesum")
    c.observe(1)
    g.set(2)
    p = multiprocessing.get_context("fork").Process(target=child_records, args=(c, g))
    p.start()
    p.join(30)
    assert p.exitcode == 0
    assert value("forked")["sum"] == 11
    assert value("forked_busy")["value"] == 2   # the child's 1 left with it
    assert retire() == 2                         # the child's two series, not ours
    assert value("forked")["sum"] == 11
    c.observe(1)
    assert value("forked")["sum"] == 12


def test_scope_is_checked():
    with pytest.raises(ValueError, match="scope"):
        Counter("bad_scope", "x", scope="thread")
    with pytest.raises(ValueError, match="shared by every process"):
        Counter("per_process", "x", scope="process")
