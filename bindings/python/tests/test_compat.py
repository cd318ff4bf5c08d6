# SPDX-License-Identifier: Apache-2.0
"""shmstats beside prometheus_client: the same calls give the same errors, the same
values and, through statsctl export, the same exposition lines."""
import inspect
import json
import os
import subprocess

import prometheus_client as pc
import pytest
from conftest import series

import shmstats


def both(registry):
    """(shmstats module, prometheus_client with the test's registry) constructors."""
    return shmstats, pc


def export(segment, fmt="prometheus"):
    statsctl = os.environ.get("STATSCTL")
    assert statsctl, "STATSCTL must name the statsctl binary (CTest sets it)"
    return subprocess.run([statsctl, "--segment", segment, "export", "--format", fmt],
                          capture_output=True, text=True, check=True).stdout


def samples(text):
    """The samples of a Prometheus text exposition as (name, labels, value), sorted;
    labels as written (their order aside: shmstats sorts them by name), no _created."""
    from prometheus_client.parser import text_string_to_metric_families
    return sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                  for f in text_string_to_metric_families(text) for s in f.samples
                  if not s.name.endswith("_created"))


@pytest.mark.parametrize("mistake", [
    lambda lib, r: lib.Counter("", "x", registry=r),
    lambda lib, r: lib.Counter("_total", "x", registry=r),
    lambda lib, r: lib.Counter("bad-name", "x", registry=r),
    lambda lib, r: lib.Gauge("g", "x", ["bad-label"], registry=r),
    lambda lib, r: lib.Gauge("g", "x", ["__reserved"], registry=r),
    lambda lib, r: lib.Gauge("g", "x", registry=r, multiprocess_mode="median"),
    lambda lib, r: lib.Histogram("h", "x", ["le"], registry=r),
    lambda lib, r: lib.Histogram("h", "x", registry=r, buckets=[2, 1]),
    lambda lib, r: lib.Histogram("h", "x", registry=r, buckets=[]),
    lambda lib, r: lib.Summary("s", "x", ["quantile"], registry=r),
    lambda lib, r: lib.Info("i", "x", registry=r, unit="seconds"),
    lambda lib, r: lib.Enum("e", "x", registry=r),
    lambda lib, r: lib.Enum("e", "x", ["e"], registry=r, states=["a"]),
    lambda lib, r: lib.Counter("c", "x", registry=r).inc(-1),
    lambda lib, r: lib.Counter("c", "x", ["a"], registry=r).inc(),
    lambda lib, r: lib.Counter("c", "x", ["a"], registry=r).labels("1", "2"),
    lambda lib, r: lib.Counter("c", "x", ["a"], registry=r).labels(b="1"),
    lambda lib, r: lib.Counter("c", "x", ["a"], registry=r).labels("1", a="1"),
    lambda lib, r: lib.Counter("c", "x", registry=r).labels("1"),
    lambda lib, r: lib.Counter("c", "x", ["a"], registry=r).labels("1").labels("2"),
    lambda lib, r: lib.Counter("c", "x", ["a", "b"], registry=r).remove("1"),
    lambda lib, r: lib.Counter("c", "x", registry=r).remove("1"),
    lambda lib, r: lib.Gauge("g", "x", ["a"], registry=r, multiprocess_mode="livesum").set(1),
    lambda lib, r: lib.Histogram("h", "x", ["a"], registry=r).observe(1),
    lambda lib, r: lib.Info("i", "x", ["a"], registry=r).labels("1").info({"a": "2"}),
    lambda lib, r: lib.Enum("e", "x", registry=r, states=["a"]).state("b"),
    lambda lib, r: lib.Counter("c", "x", registry=r).inc(1, exemplar={"bad-name": "1"}),
])
def test_the_same_mistake_gives_the_same_value_error(mistake, registry):
    with pytest.raises(ValueError) as theirs:
        mistake(pc, registry)
    with pytest.raises(ValueError) as ours:
        mistake(shmstats, None)
    assert str(ours.value) == str(theirs.value)


def test_decorators_keep_the_signature():
    def work(a, b=2, *, c=3):
        """Works."""
        return a + b + c

    c = shmstats.Counter("dec", "x")
    g = shmstats.Gauge("dec_g", "x", multiprocess_mode="livesum")
    h = shmstats.Histogram("dec_h", "x")
    s = shmstats.Summary("dec_s", "x")
    for wrapped in (c.count_exceptions()(work), g.track_inprogress()(work), g.time()(work),
                    h.time()(work), s.time()(work)):
        assert inspect.signature(wrapped) == inspect.signature(work)
        assert wrapped.__name__ == "work" and wrapped.__doc__ == "Works."
        assert wrapped(1, c=0) == 3
    assert series("dec_h")["count"] == 1
    assert series("dec_s_count")["value"] == 1


def test_time_with_labels_bound_inside_the_block():
    h = shmstats.Histogram("timed", "x", ["route"])
    with h.time() as t:
        t.labels("home")
    g = shmstats.Gauge("timed_g", "x", ["route"], multiprocess_mode="mostrecent")
    with g.time() as t:
        t.labels(route="home")
    assert series("timed", {"route": "home"})["count"] == 1
    assert series("timed_g", {"route": "home"})["value"] >= 0


def test_fractional_increments_as_prometheus_client(registry):
    ours = shmstats.Counter("frac", "x")
    theirs = pc.Counter("frac", "x", registry=registry)
    for _ in range(10):
        ours.inc(0.1)
        theirs.inc(0.1)
    ours.inc(0.5)
    theirs.inc(0.5)
    assert series("frac_total")["value"] == registry.get_sample_value("frac_total")


def test_huge_values_are_kept_not_wrapped(registry):
    ours = shmstats.Counter("huge", "x")
    theirs = pc.Counter("huge", "x", registry=registry)
    for lib in (ours, theirs):
        lib.inc(1e30)
        lib.inc(2 ** 53)
    assert series("huge_total")["value"] == registry.get_sample_value("huge_total") > 1e30
    with pytest.raises(OverflowError):
        ours.inc(10 ** 400)


@pytest.mark.parametrize("where", ["name", "label value", "label name"])
def test_nul_bytes_are_refused(where):
    with pytest.raises(ValueError, match="NUL|Invalid"):
        if where == "name":
            shmstats.Counter("a\0b", "x")
        elif where == "label value":
            shmstats.Counter("nul", "x", ["k"]).labels("a\0b")
        else:
            shmstats.Counter("nul2", "x", ["k\0"])
    assert [m for m in shmstats.read() if "nul" in m["name"]] == []


def test_remove_and_clear_forget_children_as_prometheus_client(registry):
    for lib, r in ((shmstats, None), (pc, registry)):
        c = lib.Counter("rm", "x", ["a"], registry=r)
        c.labels("1").inc()
        c.remove("1")
        with pytest.raises(KeyError):
            c.remove("1")
        c.labels("2").inc()
        c.clear()
        c.remove  # still usable
        c.labels("2").inc()


def test_exposition_is_prometheus_clients_byte_for_byte(segment, registry):
    """The same metrics recorded the same way give the same sample lines (names, labels
    and values) in statsctl export as prometheus_client's generate_latest."""
    for lib, r in ((shmstats, None), (pc, registry)):
        kw = {"registry": r}
        c = lib.Counter("http_requests", "Requests.", ["method", "code"], **kw)
        c.labels("GET", 200).inc()
        c.labels(method="POST", code="500").inc(2.5)
        g = lib.Gauge("temperature_celsius", "T.", **kw,
                      **({"multiprocess_mode": "mostrecent"} if lib is shmstats else {}))
        g.set(21.5)
        h = lib.Histogram("latency_seconds", "L.", ["route"], **kw,
                          buckets=[0.005, 0.1, 1, 2.5, 10, 1e6])
        for v in (0.001, 0.05, 1.0, 3, 20, 2e6):
            h.labels("/").observe(v)
        s = lib.Summary("payload_bytes", "P.", **kw)
        s.observe(100)
        s.observe(28.5)
        i = lib.Info("build", "B.", **kw)
        i.info({"version": "1.2.3", "commit": "abc"})
        e = lib.Enum("state", "S.", **kw, states=["starting", "running"])
        e.state("running")
    ours, theirs = export(segment), pc.generate_latest(registry).decode()
    assert samples(ours) == samples(theirs)
    for line in ('latency_seconds_bucket{le="1.0",route="/"} 3',
                 'latency_seconds_bucket{le="1e+06",route="/"} 5'):
        assert line in ours and line + ".0" in theirs


def test_statsctl_get_and_json_read_the_fraction(segment):
    c = shmstats.Counter("tenths", "x")
    for _ in range(10):
        c.inc(0.1)
    statsctl = os.environ["STATSCTL"]
    out = subprocess.run([statsctl, "--segment", segment, "get", "tenths_total", "--json"],
                         capture_output=True, text=True, check=True).stdout
    value = json.loads(out)["metrics"][0]["value"]
    assert abs(value - 1.0) <= 2 ** -52
    assert "tenths_total 0.9999999999999999" in export(segment)


def test_exemplars_are_validated():
    c = shmstats.Counter("ex", "x")
    c.inc(1, exemplar={"trace_id": "abc"})
    h = shmstats.Histogram("ex_h", "x")
    h.observe(0.2, exemplar={"trace_id": "abc"})
    assert series("ex_total")["value"] == 1
    assert series("ex_h")["count"] == 1
