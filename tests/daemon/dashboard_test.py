#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard page (GET /) in a real browser: headless Chromium loads it from a
running shmstatsd whose history database holds a known history (dashboard_seed),
and the charts' SVG carries the expected points and values (data-t, data-v), and
the histogram's heatmap the expected bucket counts (data-le, data-count).
Also: the page is self-contained (a CSP allowing only the daemon itself, no
external URL) and lists the live series. A screenshot is saved as a test
artefact. Usage: dashboard_test.py SHMSTATSD STATSCTL SEED CHROMIUM ARTEFACT_DIR"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from port_file import await_ports, listen_any_port

SHMSTATSD, STATSCTL, SEED, CHROMIUM, ARTEFACTS = sys.argv[1:6]
TICKS = 30


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()
    except OSError:
        return 0, {}, ""


def chromium(tmp, url, *extra):
    """Runs headless Chromium on url with a fresh profile; returns its stdout."""
    profile = tempfile.mkdtemp(dir=tmp, prefix="profile.")
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
            "--virtual-time-budget=15000", "--window-size=1280,900", *extra, url]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail(f"chromium exited {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout


def chart(dom, line):
    """(data-points of the chart, [(t, v)] of the points of one line)."""
    svg = re.search(r'<svg [^>]*id="chart"[^>]*>', dom)
    if not svg:
        fail("no chart in the page: " + dom[-3000:])
    n = int(re.search(r'data-points="(\d+)"', svg.group(0)).group(1))
    g = re.search(r'<g class="line" data-line="%s">(.*?)</g>' % line, dom, re.S)
    if not g:
        fail(f"no {line} line in the chart")
    pts = [(int(t), float(v)) for t, v in
           re.findall(r'<circle class="pt"[^>]*data-t="(\d+)" data-v="([-0-9.e+]+)"', g.group(1))]
    return n, pts


def main():
    tmp = tempfile.mkdtemp(prefix="dashtest.")
    seg = f"dashtest-{os.getpid()}"
    daemon = None
    try:
        subprocess.run([SEED, os.path.join(tmp, "history.db"), str(TICKS)], check=True)
        sc = [STATSCTL, "--segment", seg]
        subprocess.run(sc + ["create"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(sc + ["inc", "live_jobs_total", "5"], check=True)
        subprocess.run(sc + ["set", 'live_temperature{city="Zürich"}', "21.5"], check=True)
        port_file = os.path.join(tmp, "ports")
        daemon = subprocess.Popen([SHMSTATSD, "--segment", seg, "--state-dir", tmp,
                                   *listen_any_port(port_file), "--interval", "1s"],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "log"), "w"))
        base = f"http://127.0.0.1:{await_ports(port_file, daemon)['http']}/"
        deadline = time.monotonic() + 30
        while get(base + "stats")[0] != 200:
            if time.monotonic() > deadline or daemon.poll() is not None:
                fail("shmstatsd did not serve /stats: " + open(os.path.join(tmp, "log")).read())
            time.sleep(0.2)

        status, headers, page = get(base)
        if status != 200 or not headers.get("Content-Type", "").startswith("text/html"):
            fail(f"GET / answered {status} {headers}")
        csp = headers.get("Content-Security-Policy", "")
        if "default-src 'none'" not in csp or "connect-src 'self'" not in csp:
            fail("no restrictive Content-Security-Policy: " + csp)
        external = [u for u in re.findall(r'https?://[^\s"\'<>)]+', page)
                    if not u.startswith("http://www.w3.org/2000/svg")]
        if external or re.search(r'\b(src|href)=', page):
            fail(f"the page refers to other resources: {external}")
        if "reset" in page.lower():
            fail("the page mentions reset")

        # Counters: one rate point per minute, the rate of tick i being i per second.
        dom = chromium(tmp, base + "#series=dash_requests_total&range=1h", "--dump-dom")
        n, pts = chart(dom, "rate")
        if n != TICKS or [v for _, v in pts] != [float(i) for i in range(1, TICKS + 1)]:
            fail(f"counter chart: {n} points, values {pts}")
        if any(b - a != 60 for (a, _), (b, _) in zip(pts, pts[1:])):
            fail(f"counter points are not one minute apart: {pts}")
        # The live series are listed, with labels.
        if 'data-key="live_jobs_total"' not in dom or "Zürich" not in dom:
            fail("live series not listed: " + dom[:3000])
        # Gauges: min, avg and max lines; the avg of tick i is i.
        dom = chromium(tmp, base + "#series=dash_queue_depth&range=1h", "--dump-dom")
        n, pts = chart(dom, "avg")
        if n != TICKS or [v for _, v in pts] != [float(i) for i in range(1, TICKS + 1)]:
            fail(f"gauge chart: {n} points, values {pts}")
        # Histograms: p50, p90 and p99 lines. Tick i has i observations in (0.1, 1]
        # and one in (1, 10]: p99 is in (1, 10], p50 in (0.1, 1].
        dom = chromium(tmp, base + "#series=dash_latency_seconds&range=1h", "--dump-dom")
        for line, lo, hi in (("p50", 0.1, 1), ("p90", 0.1, 10), ("p99", 1, 10)):
            n, pts = chart(dom, line)
            if n != TICKS or len(pts) != TICKS or not all(lo < v <= hi for _, v in pts):
                fail(f"histogram {line}: {n} points, values {pts}")
        # The heatmap: per step one cell for (0.1, 1] holding i and one for (1, 10]
        # holding 1; empty buckets have no cell.
        cells = re.findall(r'<rect class="cell"[^>]*data-t="(\d+)" data-le="([^"]+)" data-count="(\d+)"', dom)
        by_le = {}
        for t, le, count in cells:
            by_le.setdefault(le, []).append(int(count))
        if by_le != {"1": list(range(1, TICKS + 1)), "10": [1] * TICKS}:
            fail(f"heatmap cells: {by_le}")

        os.makedirs(ARTEFACTS, exist_ok=True)
        shot = os.path.join(ARTEFACTS, "dashboard.png")
        if os.path.exists(shot):
            os.remove(shot)
        chromium(tmp, base + "#series=dash_latency_seconds&range=1h", "--screenshot=" + shot)
        with open(shot, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                fail("the screenshot is not a PNG")
        print("screenshot:", shot)
        print("PASS")
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(10)
        subprocess.run([STATSCTL, "--segment", seg, "remove"], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


main()
