# SPDX-License-Identifier: Apache-2.0
"""Exemplars stored with their series in the segment and shown in OpenMetrics
exposition (statsctl export and the daemon's live /metrics) exactly as
prometheus_client writes them, from any process; the timestamps aside (each library
takes its own clock), line for line."""
import multiprocessing
import re

import prometheus_client as pc
import pytest
from live_daemon import LiveDaemon
from prometheus_client.openmetrics import exposition as om_exposition
from test_compat import export

import shmstats

TIMESTAMP = re.compile(r"( # \{[^}]*\} \S+) (\d+\.\d+(e[+-]?\d+)?)$")


def exemplar_lines(text, prefix):
    """The lines of text for metrics named prefix* that carry an exemplar, with the
    exemplar's timestamp replaced by T (and the timestamps, checked to be times)."""
    lines, stamps = [], []
    for line in text.splitlines():
        if line.startswith(prefix) and " # {" in line:
            m = TIMESTAMP.search(line)
            assert m, line
            stamps.append(float(m.group(2)))
            lines.append(line[:m.start()] + m.group(1) + " T")
    return lines, stamps


def record(lib, registry=None):
    kw = {"registry": registry} if registry is not None else {}
    c = lib.Counter("ex_requests", "Requests.", ["path"], **kw)
    c.labels("/").inc(2, exemplar={"trace_id": "abc", "span_id": "7"})
    c.labels("/x").inc(0.5)
    h = lib.Histogram("ex_latency_seconds", "Latency.", buckets=[0.1, 1.0, 5.0], **kw)
    h.observe(0.05, exemplar={"trace_id": "t1"})
    h.observe(3, exemplar={"trace_id": "t2"})
    h.observe(0.07, exemplar={"trace_id": "t3"})  # replaces t1 in its bucket
    h.observe(7)


def theirs():
    registry = pc.CollectorRegistry()
    record(pc, registry)
    return om_exposition.generate_latest(registry).decode()


def test_exemplars_show_in_openmetrics_as_prometheus_client_writes_them(segment, tmp_path):
    import time
    before = time.time()
    record(shmstats)
    expected, _ = exemplar_lines(theirs(), "ex_")
    assert len(expected) == 3
    # Integer-valued samples: prometheus_client writes 2.0 where shmstats writes 2 (the
    # same value); exemplars are written alike.
    # Families in name order (prometheus_client: registration order).
    normal = lambda lines: sorted(re.sub(r"^(\S+) (\d+)\.0 #", r"\1 \2 #", x) for x in lines)
    ours, stamps = exemplar_lines(export(segment, "openmetrics"), "ex_")
    assert normal(ours) == normal(expected)
    assert all(before - 1 <= t <= time.time() + 1 for t in stamps)
    with LiveDaemon(segment, str(tmp_path)) as daemon:
        scraped = daemon.get("/metrics", accept="application/openmetrics-text; version=1.0.0")
        plain = daemon.get("/metrics")
    assert normal(exemplar_lines(scraped, "ex_")[0]) == normal(expected)
    assert " # {" not in plain  # Prometheus text 0.0.4 has no exemplars
    # What prometheus_client's own OpenMetrics parser reads back.
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    found = {(s.name, s.labels.get("le")): (s.exemplar.labels, s.exemplar.value)
             for f in text_string_to_metric_families(scraped) for s in f.samples if s.exemplar}
    assert found == {("ex_requests_total", None): ({"trace_id": "abc", "span_id": "7"}, 2.0),
                     ("ex_latency_seconds_bucket", "0.1"): ({"trace_id": "t3"}, 0.07),
                     ("ex_latency_seconds_bucket", "5.0"): ({"trace_id": "t2"}, 3.0)}


def _exemplar_worker(n):
    c = shmstats.Counter("ex_jobs", "Jobs.")
    for i in range(n):
        c.inc(1, exemplar={"worker": str(n), "i": str(i)})


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_exemplars_from_other_processes_are_shared(start):
    with multiprocessing.get_context(start).Pool(2) as pool:
        pool.map(_exemplar_worker, [300, 301])
    text = export(shmstats.default_segment_name(), "openmetrics")
    line = next(x for x in text.splitlines() if x.startswith("ex_jobs_total "))
    m = re.match(r'ex_jobs_total 601(\.0)? # \{i="(\d+)",worker="(300|301)"\} 1\.0 \S+$', line)
    assert m, line
    assert int(m.group(2)) == int(m.group(3)) - 1  # a worker's last exemplar, never a mix


def test_invalid_exemplars_raise_as_prometheus_client_after_recording():
    c = shmstats.Counter("ex_bad", "x")
    with pytest.raises(ValueError, match="exceeding the limit of 128"):
        c.inc(1, exemplar={"trace_id": "x" * 121})
    assert shmstats.read()[0]["value"] == 1  # recorded all the same, as prometheus_client
    c.inc(1, exemplar={"trace_id": "\U0001F600" * 120})  # 128 characters, 488 bytes
    assert "\U0001F600" * 120 in export(shmstats.default_segment_name(), "openmetrics")
