#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""shmstatsd under systemd's protocols, without systemd: NOTIFY_SOCKET points at a
datagram socket this test reads, WATCHDOG_USEC asks for keep-alives, JOURNAL_STREAM
names the file stderr goes to. Checks READY=1 (sent only once the HTTP port
accepts), STATUS= lines, WATCHDOG=1 between ticks, STOPPING=1 on SIGTERM, "<N>"
priorities on every log line, and --create-segment creating the segment with the
configured mode.

usage: readiness_test.py SHMSTATSD STATSCTL
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

shmstatsd, statsctl = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from port_file import await_ports, listen_any_port  # noqa: E402


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


work = tempfile.mkdtemp(prefix="shmstats-notify-")
segment = f"notify-test-{os.getpid()}"
port_file = os.path.join(work, "ports")
notify_path = os.path.join(work, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(notify_path)
sock.settimeout(1.0)
log_path = os.path.join(work, "stderr.log")
log = open(log_path, "wb")
st = os.fstat(log.fileno())
env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="400000",
           JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
env.pop("WATCHDOG_PID", None)
daemon = subprocess.Popen(
    [shmstatsd, "--segment", segment, "--interval", "60s", "--state-dir", work,
     *listen_any_port(port_file), "--create-segment", "--segment-mode", "0660",
     "--segment-max-metrics", "64", "--segment-max-slots", "4096"],
    env=env, stdout=subprocess.DEVNULL, stderr=log)

messages = []
try:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and daemon.poll() is None:
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            continue
        if "READY=1" in data and not any("READY=1" in m for m in messages):
            # READY means listening, the port file written: a connection must
            # succeed right now.
            if not os.path.exists(port_file):
                fail("READY=1 sent before the port file was written")
            port = await_ports(port_file, daemon, 1)["http"]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            except OSError as e:
                fail(f"READY=1 sent but port {port} refuses connections: {e}")
        messages.append(data)
        if sum("WATCHDOG=1" in m for m in messages) >= 3:
            break
    if daemon.poll() is not None:
        fail(f"shmstatsd exited with {daemon.returncode}: {open(log_path).read()}")
    ready = [m for m in messages if "READY=1" in m]
    if len(ready) != 1:
        fail(f"expected one READY=1, got {messages}")
    if messages.index(ready[0]) != 0:
        fail(f"READY=1 was not the first message: {messages}")
    status = [line for m in messages for line in m.split("\n") if line.startswith("STATUS=")]
    if not status or f"segment {segment} attached (0/64 metrics)" not in status[0]:
        fail(f"the first STATUS= does not say the segment is attached: {status}")
    if not any("last tick 20" in s and "history ok" in s for s in status):
        fail(f"no STATUS= with the last tick and the history state: {status}")
    if sum("WATCHDOG=1" in m for m in messages) < 3:
        fail(f"fewer than 3 WATCHDOG=1 within 30 s with WATCHDOG_USEC=400000: {messages}")

    # --create-segment made the segment with the configured mode and capacity.
    mode = stat.S_IMODE(os.stat(f"/dev/shm/{segment}").st_mode)
    if mode != 0o660:
        fail(f"segment mode {oct(mode)}, expected 0o660")
    info = subprocess.run([statsctl, "--segment", segment, "info", "--json"],
                          capture_output=True, text=True)
    if json.loads(info.stdout)["info"]["max_metrics"] != 64:
        fail(f"statsctl info does not show 64 metrics of capacity: {info.stdout}")

    daemon.send_signal(signal.SIGTERM)
    if daemon.wait(timeout=30) != 0:
        fail(f"exit status {daemon.returncode} after SIGTERM")
    rest = []
    try:
        while True:
            rest.append(sock.recv(4096).decode())
    except socket.timeout:
        pass
    if not any("STOPPING=1" in m for m in rest):
        fail(f"no STOPPING=1 after SIGTERM: {rest}")
    lines = open(log_path).read().splitlines()
    if not lines:
        fail("nothing logged")
    for line in lines:
        level = line.split(": ")[1] if ": " in line else ""
        want = {"error": "<3>", "warning": "<4>"}.get(level, "<6>")
        if not line.startswith(want + "shmstatsd: "):
            fail(f"log line without its journald priority {want}: {line!r}")
    # A configuration error is logged at priority 3 too (journalctl -p err finds it).
    with open(log_path, "wb") as bad_log:
        st = os.fstat(bad_log.fileno())
        bad = subprocess.run([shmstatsd, "--segment-mode", "999"], stderr=bad_log,
                             env=dict(env, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}"))
    text = open(log_path).read()
    if bad.returncode != 2 or not text.startswith("<3>shmstatsd: mode '999'"):
        fail(f"a bad --segment-mode: status {bad.returncode}, logged {text!r}")
    print(f"PASS: {len(messages)} notifications, {len(status)} STATUS= lines, "
          f"{len(lines)} log lines with priorities")
finally:
    if daemon.poll() is None:
        daemon.kill()
        daemon.wait()
    subprocess.run([statsctl, "--segment", segment, "remove"], capture_output=True)
    sock.close()
    shutil.rmtree(work, ignore_errors=True)
