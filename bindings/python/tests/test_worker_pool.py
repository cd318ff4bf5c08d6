# SPDX-License-Identifier: Apache-2.0
"""A worker-pool application written for prometheus_client's multiprocess mode, and
the same application with only its import changed to shmstats: the same series names,
labels and values (prometheus_client's MultiProcessCollector against statsctl export
and shmstatsd's /metrics)."""
import os
import subprocess
import sys

import pytest

from live_daemon import LiveDaemon
from test_compat import export, samples

APP = os.path.join(os.path.dirname(__file__), "apps", "worker_pool.py")


def run(source, env):
    out = subprocess.run([sys.executable, "-c", source, "3"], env=dict(os.environ, **env),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_same_application_exposes_the_same_series(segment, tmp_path):
    import prometheus_client as pc
    from prometheus_client import multiprocess
    source = open(APP).read()
    assert "from prometheus_client import" in source
    mp_dir = tmp_path / "multiproc"
    mp_dir.mkdir()
    theirs_total = run(source, {"PROMETHEUS_MULTIPROC_DIR": str(mp_dir)})
    ours_total = run(source.replace("from prometheus_client import", "from shmstats import"),
                     {"SHMSTATS_SEGMENT": segment})
    assert ours_total == theirs_total

    registry = pc.CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(mp_dir))
    theirs = samples(pc.generate_latest(registry).decode())
    ours = samples(export(segment))
    assert {s[0] for s in ours} == {s[0] for s in theirs}
    assert ours == theirs

    # The same series scraped from the daemon's live /metrics (its own shmstatsd_*
    # series aside).
    with LiveDaemon(segment, str(tmp_path)) as daemon:
        scraped = [s for s in samples(daemon.get("/metrics")) if s[0].startswith("app_")]
    assert scraped == theirs


def test_fractional_increments_read_exactly_in_live_metrics(segment, tmp_path):
    import shmstats
    c = shmstats.Counter("frac_tenths", "Tenths.")
    for _ in range(10):
        c.inc(0.1)
    import prometheus_client as pc
    registry = pc.CollectorRegistry()
    theirs = pc.Counter("frac_tenths", "Tenths.", registry=registry)
    for _ in range(10):
        theirs.inc(0.1)
    expected = samples(pc.generate_latest(registry).decode())
    with LiveDaemon(segment, str(tmp_path)) as daemon:
        text = daemon.get("/metrics")
        om = daemon.get("/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert [s for s in samples(text) if s[0].startswith("frac_")] == expected
    assert expected[0][2] == pytest.approx(1.0)  # prometheus_client's double sum of tenths
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    om_values = [s.value for f in text_string_to_metric_families(om) for s in f.samples
                 if s.name == "frac_tenths_total"]
    assert om_values == [expected[0][2]]
