# SPDX-License-Identifier: Apache-2.0
"""What the Python daemon tests ask a running shmstatsd: its /metrics, one sample of
it, `statsctl get --json`, and a bounded wait on a condition (polled, never a fixed
sleep standing in for readiness)."""
import json
import subprocess
import time
import urllib.request


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_for(cond, seconds=30):
    """True once cond() is true within `seconds`; a condition that raises (the daemon
    not answering yet, a series not there yet) counts as false."""
    end = time.monotonic() + seconds
    while True:
        try:
            if cond():
                return True
        except (OSError, ValueError, KeyError, IndexError):
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)  # polls the condition


def metrics(http):
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=10) as r:
        return r.read().decode()


def sample(text, series):
    """The value of `series` (name{labels} as /metrics writes it) in text, or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def statsctl_get(statsctl, segment, selector):
    """`statsctl get SELECTOR --json`'s metrics; [] when nothing matches."""
    r = subprocess.run([statsctl, "--segment", segment, "get", selector, "--json"],
                       capture_output=True, text=True)
    return json.loads(r.stdout)["metrics"] if r.returncode == 0 else []
