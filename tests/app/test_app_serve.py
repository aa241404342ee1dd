"""``minemap serve``: starts the real server on the store given, and stops it with itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_serve_starts_the_app_and_sigterm_stops_the_server_too(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "minemap",
                "serve",
                "--store",
                "s.gpkg",
                "--port",
                str(port),
            ],
            cwd=tmp_path,  # the relative store path is resolved here, then passed absolute
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.3)
        # The vendored assets are served (offline map) and the tracebacks setting applies.
        with urllib.request.urlopen(f"{url}/app/static/vendor/leaflet/leaflet.js") as r:
            assert r.status == 200
            assert b"Leaflet" in r.read(2000)
        assert f"serving {tmp_path / 's.gpkg'}" in log.read_text()
        proc.send_signal(signal.SIGTERM)  # only to `minemap serve`, not its group
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 20
        while _healthy(url):
            assert time.monotonic() < deadline, "the streamlit server outlived `minemap serve`"
            time.sleep(0.3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
