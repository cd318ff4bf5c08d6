# SPDX-License-Identifier: Apache-2.0
"""A process notices a removed or re-created segment: the watcher thread (or
shmstats.reattach()) opens the segment again and registers the process's series
into it, so recording continues where readers look."""
import os
import subprocess
import sys
import time

from conftest import series

import shmstats


def test_reattach_after_remove_and_recreate(segment):
    c = shmstats.Counter("survivor", "x", ["k"])
    child = c.labels("a")
    h = shmstats.Histogram("survivor_seconds", "x")
    child.inc(2)
    assert shmstats.reattach() == []          # nothing replaced yet
    # Another process removes the segment and creates it again (unless this process's
    # watcher thread has created it first: both are a re-created segment).
    statsctl = os.environ["STATSCTL"]
    subprocess.run([statsctl, "--segment", segment, "remove"], check=True, capture_output=True)
    created = subprocess.run([statsctl, "--segment", segment, "create"], capture_output=True)
    assert created.returncode in (0, 5), created.stderr  # 5: it exists already
    shmstats.reattach()                       # at once, whether the watcher did or not
    assert not shmstats.segment().replaced()
    child.inc(3)
    h.observe(0.2)
    assert series("survivor_total", {"k": "a"})["value"] == 3
    assert series("survivor_seconds")["count"] == 1
    c.labels("b").inc()                        # new children go to the new segment too
    assert series("survivor_total", {"k": "b"})["value"] == 1


def test_the_watcher_thread_reattaches_by_itself(segment):
    code = r"""
import os, sys, time
import shmstats
c = shmstats.Counter("watched", "x")
c.inc()
print("ready", flush=True)
sys.stdin.readline()                     # the segment is removed meanwhile
deadline = time.monotonic() + 60
while time.monotonic() < deadline:       # bounded: the watcher re-attaches within 0.1 s
    c.inc()
    if not shmstats.segment().replaced():  # the watcher has opened the new segment
        c.inc()
        break
    time.sleep(0.01)
print("done", flush=True)
"""
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, SHMSTATS_CHECK_INTERVAL="0.1"))
    assert p.stdout.readline().strip() == "ready"
    assert shmstats.remove_segment(segment)
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "done"
    assert p.wait(60) == 0
    assert series("watched_total")["value"] >= 1
