# SPDX-License-Identifier: Apache-2.0
"""Each test gets its own segment ($SHMSTATS_SEGMENT), removed at the end, and a fresh
prometheus_client registry to compare with. The package is imported from $PYTHONPATH
(CTest points it at the build's <build>/python)."""
import os
import uuid

import pytest


@pytest.fixture(autouse=True)
def segment(monkeypatch):
    name = f"pytest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SHMSTATS_SEGMENT", name)
    yield name
    import shmstats
    shmstats.remove_segment(name)


@pytest.fixture
def registry():
    import prometheus_client
    return prometheus_client.CollectorRegistry()


def series(name, labels=None, segment=None):
    """The one series of that name (and labels) in the segment, as a dict."""
    import shmstats
    found = [m for m in shmstats.read(segment) if m["name"] == name and
             (labels is None or m["labels"] == labels)]
    assert len(found) == 1, (name, labels, found)
    return found[0]
