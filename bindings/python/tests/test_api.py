# SPDX-License-Identifier: Apache-2.0
"""prometheus_client's API over shmstats: the calls of the issue, labels, errors,
many processes, and statsctl reading what Python recorded."""
import json
import multiprocessing
import os
import subprocess

import pytest
from conftest import series

import shmstats
from shmstats import Counter, Exponential, Gauge, Histogram


def test_counter_inc_labels_and_total_suffix():
    c = Counter("requests", "Requests served", ["method", "code"])
    c.labels("GET", "200").inc()
    c.labels(method="GET", code="200").inc(41)
    c.labels("POST", 500).inc(2.5)
    c.labels("POST", 500).inc(0.5)
    assert series("requests_total", {"method": "GET", "code": "200"})["value"] == 42
    assert series("requests_total", {"method": "POST", "code": "500"})["value"] == 3.0
    plain = Counter("plain_total", "no labels")
    plain.inc()
    assert series("plain_total")["value"] == 1


def test_counter_refuses_negative_and_unbound_use():
    c = Counter("neg", "x")
    with pytest.raises(ValueError, match="non-negative"):
        c.inc(-1)
    labelled = Counter("lab", "x", ["a"])
    with pytest.raises(ValueError, match="missing label values"):
        labelled.inc()
    with pytest.raises(ValueError, match="Incorrect label count"):
        labelled.labels("1", "2")


def test_count_exceptions_as_context_manager_and_decorator():
    failures = Counter("failures", "x")
    with pytest.raises(KeyError):
        with failures.count_exceptions():
            raise KeyError("k")
    with failures.count_exceptions(KeyError):
        pass

    @failures.count_exceptions(ValueError)
    def work(x):
        if x:
            raise ValueError("boom")
        return 7

    assert work(0) == 7
    with pytest.raises(ValueError):
        work(1)
    with pytest.raises(TypeError):  # not counted: another type
        with failures.count_exceptions(ValueError):
            raise TypeError()
    assert series("failures_total")["value"] == 2


def test_gauge_set_inc_dec_and_timers():
    g = Gauge("queue_depth", "x", ["queue"], multiprocess_mode="mostrecent")
    q = g.labels("mail")
    q.set(10)
    q.inc(3)
    q.dec()
    q.dec(0.5)
    assert series("queue_depth", {"queue": "mail"})["value"] == 11.5
    inflight = Gauge("inflight", "x", multiprocess_mode="livesum")
    with inflight.track_inprogress():
        assert series("inflight")["value"] == 1
    assert series("inflight")["value"] == 0
    last = Gauge("last_seconds", "x", multiprocess_mode="mostrecent")
    with last.time():
        pass
    assert 0 <= series("last_seconds")["value"] < 60


def test_histogram_observe_buckets_and_time():
    h = Histogram("latency_seconds", "x", buckets=[0.1, 0.5, 1])
    for v in (0.05, 0.3, 0.7, 5):
        h.observe(v)
    m = series("latency_seconds")
    assert m["bounds"] == [0.1, 0.5, 1]
    assert m["buckets"] == [1, 1, 1, 1]
    assert m["count"] == 4 and m["sum"] == pytest.approx(6.05)

    d = Histogram("default_seconds", "x")
    assert series("default_seconds")["bounds"] == list(shmstats.DEFAULT_BUCKETS[:-1])
    with d.time():
        pass

    @d.time()
    def f():
        return 3

    assert f() == 3
    assert series("default_seconds")["count"] == 2

    e = Histogram("exp_bytes", "x", ["k"], buckets=Exponential(1, 1e6, 4))
    e.labels("a").observe(1000)
    assert series("exp_bytes", {"k": "a"})["sum"] == 1000


@pytest.mark.parametrize("make", [
    lambda: Counter("bad-name", "x"),
    lambda: Counter("0starts_with_digit", "x"),
    lambda: Gauge("ok", "x", ["bad-label"]),
    lambda: Gauge("ok2", "x", ["__reserved"]),
    lambda: Histogram("h", "x", ["le"]),
    lambda: Histogram("h2", "x", buckets=[1, 0.5]),
])
def test_bad_names_give_a_clear_value_error(make):
    with pytest.raises(ValueError, match=r"(?i)invalid|sorted|reserved"):
        make()


def test_type_conflict_is_a_value_error():
    Counter("shared_total", "x")
    with pytest.raises(ValueError, match="shared_total"):
        Gauge("shared_total", "x", multiprocess_mode="mostrecent")


def _worker(n):
    c = Counter("mp_jobs", "x", ["worker"])
    h = Histogram("mp_seconds", "x", buckets=[1, 2])
    for _ in range(n):
        c.labels("all").inc()
        h.observe(1.5)


def test_multiprocessing_workers_give_exact_totals():
    n, procs = 20000, 4
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        pool.map(_worker, [n] * procs)
    assert series("mp_jobs_total", {"worker": "all"})["value"] == n * procs
    h = series("mp_seconds")
    assert h["count"] == n * procs and h["buckets"] == [0, n * procs, 0]
    # Spawned workers open the segment themselves: no per-process file is left.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_worker, [100, 100])
    assert series("mp_jobs_total", {"worker": "all"})["value"] == n * procs + 200


def test_values_are_visible_to_statsctl(segment):
    statsctl = os.environ.get("STATSCTL")
    assert statsctl, "STATSCTL must name the statsctl binary (CTest sets it)"
    Counter("seen", "Seen by statsctl", ["via"]).labels("python").inc(5)
    out = subprocess.run([statsctl, "--segment", segment, "get", 'seen_total{via="python"}',
                          "--json"], capture_output=True, text=True, check=True).stdout
    m = json.loads(out)["metrics"][0]
    assert m["value"] == 5 and m["help"] == "Seen by statsctl"


def test_reset():
    c = Counter("r", "x")
    c.inc(9)
    assert shmstats.reset("r_total") == 1
    assert series("r_total")["value"] == 0


def test_set_function_is_sampled():
    items = []
    g = Gauge("queue_items", "x", multiprocess_mode="mostrecent")
    g.set_function(lambda: len(items))
    assert series("queue_items")["value"] == 0      # sampled at once
    items.extend([1, 2, 3])
    shmstats.sample_functions()                      # what the watcher does every second
    assert series("queue_items")["value"] == 3
