# SPDX-License-Identifier: Apache-2.0
"""Series lifecycle from Python: prometheus_client's remove()/clear() delete the
series from the segment (for every reader), label counts are checked as
prometheus_client checks them, and the TTL and family limit kwargs reach the
segment."""
import multiprocessing

import pytest
from conftest import series

import shmstats
from shmstats import Counter, Gauge, Histogram


def names(name):
    return [m["labels"] for m in shmstats.read() if m["name"] == name]


def test_remove_deletes_the_series_and_labels_brings_it_back_from_zero():
    c = Counter("jobs", "jobs done", ["queue"])
    c.labels("a").inc(5)
    c.labels("b").inc(2)
    c.remove("a")
    assert names("jobs_total") == [{"queue": "b"}]
    with pytest.raises(KeyError):
        c.remove("a")
    with pytest.raises(ValueError, match="Incorrect label count"):
        c.remove("a", "extra")
    with pytest.raises(ValueError, match="Incorrect label count"):
        c.remove()
    c.labels("a").inc()
    assert series("jobs_total", {"queue": "a"})["value"] == 1
    assert series("jobs_total", {"queue": "b"})["value"] == 2


def test_clear_deletes_every_series_of_the_metric():
    h = Histogram("latency_seconds", "latency", ["path"], buckets=[0.1, 1])
    g = Gauge("depth", "depth", ["q"])
    for p in ("/a", "/b", "/c"):
        h.labels(p).observe(0.5)
    g.labels("x").set(3)
    h.clear()
    assert names("latency_seconds") == []
    assert [labels["q"] for labels in names("depth")] == ["x"]  # (and its pid)
    h.labels("/a").observe(2)
    assert series("latency_seconds", {"path": "/a"})["count"] == 1


def _remove_in_child(queue_name):
    Counter("shared_jobs", "jobs", ["queue"]).remove(queue_name)


def test_remove_in_another_process_deletes_for_everyone():
    c = Counter("shared_jobs", "jobs", ["queue"])
    c.labels("a").inc(3)
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_remove_in_child, args=("a",))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert names("shared_jobs_total") == []


def test_ttl_and_family_limit_kwargs():
    c = Counter("runaway", "capped", ["id"], family_limit=3, ttl_seconds=30)
    for i in range(10):
        c.labels(str(i)).inc()
    got = names("runaway_total")
    assert len(got) == 4 and {"otel_metric_overflow": "true"} in got
    assert series("runaway_total", {"otel_metric_overflow": "true"})["value"] == 7
    assert sum(m["value"] for m in shmstats.read() if m["name"] == "runaway_total") == 10


def test_summary_and_enum_remove_their_own_series():
    s = shmstats.Summary("req_seconds", "requests", ["p"])
    s.labels("a").observe(1.5)
    s.labels("b").observe(1)
    s.remove("a")
    assert names("req_seconds_count") == [{"p": "b"}] and names("req_seconds_sum") == [{"p": "b"}]
    e = shmstats.Enum("phase", "phase", ["job"], states=["idle", "busy"])
    e.labels("x").state("busy")
    e.remove("x")
    assert names("phase") == []
