"""Each test gets its own segment ($SHMSTATS_SEGMENT), removed at the end. The
library comes from $SHMSTATS_LIBRARY (CTest sets it to the build's)."""
import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


@pytest.fixture(autouse=True)
def segment(monkeypatch):
    name = f"pytest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SHMSTATS_SEGMENT", name)
    yield name
    from shmstats import _native
    _native.segment_remove(name.encode())
