# SPDX-License-Identifier: Apache-2.0
"""A worker-pool application written for prometheus_client's multiprocess mode, and
the same application with only its import changed to shmstats: the same series names,
labels and values (prometheus_client's MultiProcessCollector against statsctl export
and shmstatsd's /metrics)."""
import os
import subprocess
import sys

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
