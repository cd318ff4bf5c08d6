# SPDX-License-Identifier: Apache-2.0
"""shmstatsd on a test's segment, serving /metrics on a port the kernel chose (read
from its --port-file), ready once /healthz says 200: no port is probed and no fixed
sleep waits for it."""
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "daemon"))
from port_file import await_ports, listen_any_port  # noqa: E402


class LiveDaemon:
    def __init__(self, segment, state_dir):
        shmstatsd = os.environ.get("SHMSTATSD")
        assert shmstatsd, "SHMSTATSD must name the shmstatsd binary (CTest sets it)"
        port_file = os.path.join(state_dir, "ports")
        self.process = subprocess.Popen(
            [shmstatsd, "--segment", segment, "--state-dir", state_dir,
             *listen_any_port(port_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self.base = f"http://127.0.0.1:{await_ports(port_file, self.process)['http']}"
            self._await_healthy(seconds=60)
        except BaseException:
            self.close()
            raise

    def _await_healthy(self, seconds):
        end = time.monotonic() + seconds
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=10) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError as e:  # 503 until the segment is attached
                if time.monotonic() > end:
                    raise AssertionError(f"/healthz still says {e.code}: {e.read()!r}")
            assert self.process.poll() is None, "shmstatsd exited before it was healthy"
            time.sleep(0.05)  # polling /healthz: the wait ends when it answers 200

    def get(self, path, accept=None):
        request = urllib.request.Request(self.base + path)
        if accept:
            request.add_header("Accept", accept)
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.read().decode()

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
