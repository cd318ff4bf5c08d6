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


# Three workers set 1, 5 and -2, in that order; then the workers of 5 and -2 exit, then
# the last one. mode: (all three live, only the worker of 1 live, none live); "pids"
# maps each worker's pid to its value (the live ones' for "live pids"); a dict keyed
# None is one series without a pid label.
@pytest.mark.parametrize("mode,live,one_left,none_left", [
    ("all", "pids", "pids", "pids"),                     # one series per process, kept
    ("liveall", "pids", "live pids", {}),                # an exited process's series leaves
    ("sum", {None: 4}, {None: 4}, {None: 4}),            # last values, exited ones included
    ("livesum", {None: 4}, {None: 1}, {None: 0}),        # live processes only
    ("max", {None: 5}, {None: 5}, {None: 5}),
    ("min", {None: -2}, {None: -2}, {None: -2}),
    ("livemax", {None: 5}, {None: 1}, {}),               # of the live processes
    ("livemin", {None: -2}, {None: 1}, {}),
    ("mostrecent", {None: -2}, {None: -2}, {None: -2}),  # set last, by anyone
    ("livemostrecent", {None: -2}, {None: 1}, {}),       # set last by a live process
])
@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_gauge_modes_with_live_and_dead_workers(start, mode, live, one_left, none_left):
    ctx = multiprocessing.get_context(start)
    ready = ctx.Queue()
    workers, pids = [], {}
    try:
        for value in (1, 5, -2):
            stop = ctx.Event()
            w = ctx.Process(target=_set_gauge, args=(mode, value, ready, stop))
            w.start()
            pid = ready.get(timeout=120)
            workers.append((w, stop))
            pids[str(pid)] = value

        def expected(spec, alive):
            if spec == "pids":
                return pids
            if spec == "live pids":
                return {p: v for p, v in pids.items() if v in alive}
            return spec

        def stop(index):
            w, event = workers[index]
            event.set()
            w.join(60)
            assert w.exitcode == 0

        assert _gauges("mode_" + mode) == expected(live, (1, 5, -2))
        stop(1)
        stop(2)
        assert _gauges("mode_" + mode) == expected(one_left, (1,))
        shmstats.segment().retire_exited()  # what shmstatsd does every tick
        assert _gauges("mode_" + mode) == expected(one_left, (1,))
        stop(0)
        assert _gauges("mode_" + mode) == expected(none_left, ())
        shmstats.segment().retire_exited()
        assert _gauges("mode_" + mode) == expected(none_left, ())
    finally:
        for w, event in workers:
            event.set()
            w.join(60)
