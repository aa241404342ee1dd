"""``minemap serve``: starts the real server on the store given, and stops it with itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.app.conftest import REPO, free_port, seed_accounts, seed_store, start_serve


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_serve_starts_the_app_and_sigterm_stops_the_server_too(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    # the relative store path is resolved in cwd, then passed on absolute
    proc = start_serve("s.gpkg", port, log, cwd=tmp_path)
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


def _derived_keys(store: Path) -> list[str]:
    """What the engine kept in the store (its hazard surface and tasks), via the store API.

    Read in a process of its own, as another program would: this test process wrote the
    store through GDAL too, and two SQLite libraries in one process must not share a WAL
    database (https://sqlite.org/howtocorrupt.html, 2.2.1)."""
    code = (
        "import sys\nfrom minemap.store import open_store\n"
        "with open_store(sys.argv[1]) as s:\n    print(' '.join(s.derived_keys()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(store)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def _wait_for_log(proc: subprocess.Popen, log: Path, text: str, *, timeout_s: float = 120) -> None:
    """Wait until the server's log has ``text``; fail if the server exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{log.read_text()}"
        time.sleep(0.3)


def test_serve_warms_the_map_when_it_starts_before_any_browser_connects(tmp_path):
    store = tmp_path / "store.gpkg"
    assert seed_store(tmp_path, store) == []
    seed_accounts(store)
    assert _derived_keys(store) == []  # never prioritised
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = start_serve(store, port, log, cwd=tmp_path)
    try:
        # Nothing but the health check is asked for (it runs no app code): no page, no
        # session. The warm-up still runs the engine, which keeps its surface and tasks.
        _wait_for_log(proc, log, "map warmed in")
        assert _healthy(url)
        assert _derived_keys(store) != []
        text = log.read_text()
        assert "warming the map's default view at server start" in text
        assert "failed" not in text, text
        assert "not warming" not in text, text
        # Streamlit's own options still come from the app folder's config.toml.
        with urllib.request.urlopen(f"{url}/app/static/vendor/leaflet/leaflet.js") as r:
            assert r.status == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_store_that_cannot_be_read_is_not_warmed_and_the_error_text_is_not_logged(tmp_path):
    store = tmp_path / "broken.gpkg"
    store.write_text("Olena Plantedname was here: not a GeoPackage")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = start_serve(store, port, log, cwd=tmp_path)
    try:
        _wait_for_log(proc, log, "not warming the map")
        assert _healthy(url)  # the server runs on; the pages show the store's error
        assert "Plantedname" not in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
