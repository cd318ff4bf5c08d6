# SPDX-License-Identifier: Apache-2.0
"""Many processes, one segment: exact totals from fork and spawn workers, and every
gauge multiprocess mode with live and dead workers (README.md, "Gauge modes")."""
import multiprocessing
import os

import pytest
from conftest import series

import shmstats
from shmstats import Counter, Gauge, Histogram, Summary


def _count(n):
    c = Counter("mp_jobs", "x", ["worker"])
    h = Histogram("mp_seconds", "x", buckets=[1, 2])
    s = Summary("mp_sizes", "x")
    for _ in range(n):
        c.labels("all").inc()
        c.labels("all").inc(0.5)
        h.observe(1.5)
        s.observe(2)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_give_exact_totals(start):
    n, procs = 5000 if start == "fork" else 2000, 3
    ctx = multiprocessing.get_context(start)
    with ctx.Pool(procs) as pool:
        pool.map(_count, [n] * procs)
    assert series("mp_jobs_total", {"worker": "all"})["value"] == 1.5 * n * procs
    h = series("mp_seconds")
    assert h["count"] == n * procs and h["buckets"] == [0, n * procs, 0]
    assert series("mp_sizes_count")["value"] == n * procs
    assert series("mp_sizes_sum")["value"] == 2 * n * procs


def _set_gauge(mode, value, ready, stop):
    g = Gauge("mode_" + mode, "x", multiprocess_mode=mode)
    g.set(value)
    ready.put(os.getpid())
    stop.wait(60)


def _gauges(name):
    return {m["labels"].get("pid"): m["value"] for m in shmstats.read() if m["name"] == name}


# mode: (while workers 1 and 5 live, after worker 5 has exited). "pid" maps each
# worker's pid to its value; None is a series without a pid label.
@pytest.mark.parametrize("mode,live,after", [
    ("all", "pid", "pid"),                        # one series per process, kept
    ("liveall", "pid", "pid-live"),               # one per process; the dead one reads 0
    ("sum", {None: 6}, {None: 6}),                # every process's last value, dead included
    ("livesum", {None: 6}, {None: 1}),            # live processes only
    ("max", {None: 5}, {None: 5}),
    ("min", {None: 1}, {None: 1}),
    ("livemax", {None: 5}, {None: 5}),            # as max: see README.md
    ("livemin", {None: 1}, {None: 1}),            # as min: see README.md
    ("mostrecent", "last", "last"),
    ("livemostrecent", "last", "last"),           # as mostrecent: see README.md
])
def test_gauge_modes_with_live_and_dead_workers(mode, live, after):
    ctx = multiprocessing.get_context("fork")
    ready, stop1, stop5 = ctx.Queue(), ctx.Event(), ctx.Event()
    w1 = ctx.Process(target=_set_gauge, args=(mode, 1, ready, stop1))
    w1.start()
    pid1 = ready.get(timeout=60)
    w5 = ctx.Process(target=_set_gauge, args=(mode, 5, ready, stop5))
    w5.start()
    pid5 = ready.get(timeout=60)

    def expected(spec, dead5):
        if spec == "pid":
            return {str(pid1): 1, str(pid5): 5}
        if spec == "pid-live":
            return {str(pid1): 1, str(pid5): 0 if dead5 else 5}
        if spec == "last":
            return {None: 5}
        return spec

    try:
        assert _gauges("mode_" + mode) == expected(live, False)
        stop5.set()
        w5.join(60)
        assert w5.exitcode == 0
        assert _gauges("mode_" + mode) == expected(after, True)
        shmstats.segment().retire_exited()  # what shmstatsd does every tick
        assert _gauges("mode_" + mode) == expected(after, True)
    finally:
        stop1.set()
        stop5.set()
        w1.join(60)
        w5.join(60)
