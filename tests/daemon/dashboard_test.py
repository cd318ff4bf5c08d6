#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard page (GET /) in a real browser: headless Chromium loads it from a
running shmstatsd whose history database holds a known history (dashboard_seed),
and the charts' SVG carries the expected points and values (data-t, data-v), and
the histogram's heatmap the expected bucket counts (data-le, data-count).
Also: the page is self-contained (a CSP allowing only the daemon itself, no
external URL) and lists the live series. Then, driven over the DevTools protocol
at 1280x800 and 1920x1080: every table cell keeps its text (no cell's content wider
than the cell, the rate column inside its panel), values carry their unit, an idle
histogram shows its last known p50, axis ticks go in 1-2-5 steps, a gauge's axis
fits its values, and the heatmap sits under its chart, inside the panel, with
readable bucket labels. Screenshots at each size are saved as test artefacts.
Usage: dashboard_test.py SHMSTATSD STATSCTL SEED CHROMIUM ARTEFACT_DIR"""

import json
import math

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from cdp import Browser
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


LONG_COUNTER = ('live_replication_bytes_sent_total{peer="db-primary-eu-west-1.internal.example.com",'
                'stream="wal-archive"}')
HIST = 'live_request_duration_seconds{handler="/api/v1/tenants/{tenant}/reports/export"}'


def deadline_loop(what, seconds=60):
    """Yields until the caller breaks; fails after `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield
        time.sleep(0.2)
    fail("timed out waiting for " + what)


def stats(base):
    status, _, body = get(base + "stats")
    return json.loads(body) if status == 200 else {}


def idle_histogram(sc, base):
    """Observations in one tick and none in the next: /stats has p50 null and the
    last known quantiles (and the unit)."""
    first = stats(base)["timestamp"]
    for _ in deadline_loop("a tick after the first"):
        if stats(base).get("timestamp", first) != first:
            break
    for v in ("0.0012", "0.0015", "0.0031"):
        subprocess.run(sc + ["observe", HIST, v, "--unit", "seconds", "--buckets",
                             "0.001,0.0025,0.005,0.01,0.1,1"], check=True)
    for _ in deadline_loop("an idle tick of " + HIST):
        h = stats(base).get("histograms", {}).get(HIST)
        if h and h["p50"] is None and h["last_p50"] is not None:
            break
    if h["unit"] != "seconds" or not 0.001 < h["last_p50"] <= 0.0025 or not h["last_timestamp"]:
        fail(f"idle histogram in /stats: {h}")


def gauge_history(base):
    """The live gauge has a point in the history (for its chart's range)."""
    url = base + "stats/history?metric=live_resident_memory_bytes&from=-1h&step=1m"
    for _ in deadline_loop("history of live_resident_memory_bytes"):
        status, _, body = get(url)
        if status == 200 and any(s["points"] for s in json.loads(body)["series"]):
            break


# Per cell of the table: its row key, column, text, and whether its content is wider
# than the cell (scrollWidth > clientWidth); the panel's and the rate header's edges.
TABLE_JS = r"""(() => {
  const section = document.querySelector("#series").closest("section").getBoundingClientRect();
  const cells = [];
  for (const tr of document.querySelectorAll("#series tr, thead tr"))
    tr.querySelectorAll("td, th").forEach((c, i) => cells.push({
      key: tr.dataset.key || "head", unit: tr.dataset.unit, column: i, text: c.textContent,
      over: c.scrollWidth > c.clientWidth, right: c.getBoundingClientRect().right,
      width: c.getBoundingClientRect().width }));
  return { cells, sectionRight: section.right, viewport: innerWidth,
           rows: document.querySelectorAll("#series tr").length };
})()"""

CHART_JS = r"""(() => {
  const chart = document.getElementById("chart"), heat = document.getElementById("heatmap");
  if (!chart) return null;
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const section = chart.closest("section");
  return {
    ticks: [...chart.querySelectorAll("text.tick")].map((t) => [Number(t.dataset.v), t.textContent]),
    points: [...chart.querySelectorAll("circle.pt")].map((c) => Number(c.dataset.v)),
    chart: box(chart), section: box(section),
    heat: heat && box(heat),
    bounds: heat ? [...heat.querySelectorAll("text.bound")].map((t) => [t.textContent, ...box(t)]) : [],
    cells: heat ? [...heat.querySelectorAll("rect.cell")].map(box) : [],
  };
})()"""


def nice_steps(ticks, what):
    """Ticks equally spaced by 1, 2 or 5 times a power of ten."""
    vals = [v for v, _ in ticks]
    steps = [b - a for a, b in zip(vals, vals[1:])]
    if len(vals) < 3 or any(abs(s - steps[0]) > 1e-9 * abs(steps[0]) for s in steps):
        fail(f"{what}: uneven ticks {ticks}")
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    if not any(abs(mantissa - m) < 1e-9 for m in (1, 2, 5)):
        fail(f"{what}: tick step {steps[0]} is not 1, 2 or 5 times a power of ten: {ticks}")


def layout(browser, base, width, height):
    size = f"{width}x{height}"
    page = browser.page(base + "#series=dash_latency_seconds&range=1h", width, height)
    page.wait_for("document.querySelectorAll('#series tr').length >= 5 && "
                  "document.querySelector('#heatmap') !== null")
    t = page.eval(TABLE_JS)
    over = [c for c in t["cells"] if c["over"] or c["right"] > t["sectionRight"] + 0.5]
    if over:
        fail(f"{size}: cells cut or outside their panel: {over}")
    head = [c["text"] for c in t["cells"] if c["key"] == "head"]
    if head != ["series", "type", "value", "rate"]:
        fail(f"{size}: table header {head}")
    rows = {}
    for c in t["cells"]:
        rows.setdefault(c["key"], {})[c["column"]] = c["text"]
    units = {c["key"]: c.get("unit") for c in t["cells"]}

    def value(key):
        if key not in rows:
            fail(f"{size}: no row {key} in {list(rows)}")
        return rows[key][2], rows[key][3]

    v, _ = value(HIST)
    if units[HIST] != "seconds" or not re.fullmatch(r"p50 \d+(\.\d+)? ms", v):
        fail(f"{size}: idle histogram shows {v!r} (unit {units[HIST]!r}), not its last p50 in ms")
    v, rate = value(LONG_COUNTER)
    if v != "123.5 MB" or not re.fullmatch(r"(–|\S+ ?[kMG]?B/s)", rate):
        fail(f"{size}: bytes counter shows {v!r}, rate {rate!r}")
    v, _ = value("live_resident_memory_bytes")
    if v != "123.5 MB":
        fail(f"{size}: bytes gauge shows {v!r}")
    v, _ = value('live_temperature{city="Zürich"}')
    if v != "21.50":
        fail(f"{size}: unitless gauge shows {v!r}")

    # The histogram's chart: ticks in 1-2-5 steps from 0; its heatmap under it,
    # inside the panel, labels inside the picture and at least 9 px tall.
    c = page.eval(CHART_JS)
    nice_steps(c["ticks"], f"{size} histogram axis")
    if c["ticks"][0][0] != 0 or not all(t.endswith("s") for _, t in c["ticks"]):
        fail(f"{size}: histogram axis {c['ticks']}")
    hl, ht, hr, hb = c["heat"]
    if ht < c["chart"][3] - 0.5 or hl < c["section"][0] or hr > c["section"][2] + 0.5:
        fail(f"{size}: heatmap {c['heat']} not under the chart {c['chart']} in {c['section']}")
    # The rows from the lowest to the highest bucket that holds observations.
    if [b[0] for b in c["bounds"]] != ["≤ 1 s", "≤ 10 s"]:
        fail(f"{size}: heatmap rows {c['bounds']}")
    for text, left, top, right, bottom in c["bounds"]:
        if left < hl - 0.5 or bottom - top < 9:
            fail(f"{size}: bucket label {text!r} cut or too small: {left, top, right, bottom}")
    for cell in c["cells"]:
        if cell[0] < hl - 0.5 or cell[2] > hr + 0.5:
            fail(f"{size}: heatmap cell {cell} outside {c['heat']}")
    shot = os.path.join(ARTEFACTS, f"dashboard-{size}.png")
    page.screenshot(shot)
    print("screenshot:", shot)

    # A gauge far from 0: its axis fits its value rather than starting at 0.
    page.eval("document.querySelector('tr[data-key=\"live_resident_memory_bytes\"]').click()")
    page.wait_for("document.querySelector('#chart')?.dataset.series === 'live_resident_memory_bytes'")
    c = page.eval(CHART_JS)
    nice_steps(c["ticks"], f"{size} gauge axis")
    lo, hi = c["ticks"][0][0], c["ticks"][-1][0]
    if not (0 < lo <= 123456789 <= hi) or hi - lo > 123456789 / 2:
        fail(f"{size}: gauge axis {c['ticks']} does not fit its value 123456789")
    if not all(t.endswith("MB") for _, t in c["ticks"]):
        fail(f"{size}: gauge axis labels without their unit: {c['ticks']}")


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
        # Series whose text is wide or has a unit, for the layout checks.
        subprocess.run(sc + ["inc", LONG_COUNTER, "123456789", "--unit", "bytes"], check=True)
        subprocess.run(sc + ["set", "live_resident_memory_bytes", "123456789", "--unit", "bytes"],
                       check=True)
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

        idle_histogram(sc, base)
        gauge_history(base)
        browser = Browser(CHROMIUM, tmp)
        try:
            for width, height in ((1280, 800), (1920, 1080)):
                layout(browser, base, width, height)
        finally:
            browser.close()
        print("PASS")
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(10)
        subprocess.run([STATSCTL, "--segment", seg, "remove"], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


main()
