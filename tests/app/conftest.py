"""Fixtures of the end-to-end tests: the REAL app server and Debian's headless Chromium.

``app_server`` starts ``python -m minemap serve`` (→ ``python -m streamlit run``) on a free
localhost port with a temporary store, waits for ``/_stcore/health`` and stops the server
at the end of the session. The store is first filled through the real ingest pipeline with
small files written here (including feature properties that try to run scripts), and one
account per role is added through the real accounts API (``ACCOUNTS``/``PASSWORD``): every
browser session signs in first, as a user would.

Browser tests are marked ``browser``; without ``/usr/bin/chromium`` they are skipped with
the reason, except in CI (``CI=true``) where that is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MINEMAP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APP = REPO / "minemap_app" / "app.py"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
XSS_IMG = "<img src=x onerror=window.__xss=1>"
XSS_SCRIPT = "<script>window.__xss=2</script>"
PLANTED_NAME = "Olena Plantedname"
"""A victim's name planted in the seed data: it must never reach a page or a download."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = (
        f"headless browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    )
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(store: Path | str, port: int, log: Path, *, cwd: Path) -> subprocess.Popen:
    """``minemap serve`` in a process group of its own, its output in ``log``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "minemap", "serve", "--store", str(store), "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _feature_collection(features: list[tuple[dict, dict]]) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": props, "geometry": geom}
                for props, geom in features
            ],
        }
    )


def _square(lon: float, lat: float, size: float = 0.02) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        ],
    }


def seed_files(folder: Path) -> dict[str, Path]:
    """Small canonical survey files (Kharkiv oblast), one per layer, with hostile text."""
    files = {
        "hazards": [
            (
                {
                    "hazard_id": "HZ-1",
                    "date": "2023-05-01",
                    "hazard_type": "CHA",
                    "contamination": "CMR",
                    "evidence": XSS_SCRIPT,
                },
                _square(36.20, 49.90),
            ),
            (
                {
                    "hazard_id": XSS_IMG,
                    "date": "2023-06-01",
                    "hazard_type": "SHA",
                    "contamination": "AP",
                },
                _square(36.30, 49.90),
            ),
            (
                {
                    "hazard_id": "HZ-3",
                    "date": "2024-02-01",
                    "hazard_type": "SHA",
                    "contamination": "UXO",
                },
                _square(36.40, 49.95, 0.03),
            ),
        ],
        "cleared": [
            (
                {
                    "survey_id": "REL-1",
                    "date": "2024-03-01",
                    "team": "Team 1",
                    "operator": "Operator <b>A</b>",
                    "status": "cleared",
                    "method": "manual",
                },
                _square(36.50, 49.90),
            ),
        ],
        "casualties": [
            (
                {
                    "incident_id": "CAS-1",
                    "date": "2024-04-01",
                    "killed": 0,
                    "injured": 2,
                    "civilian": True,
                    "munition_type": XSS_IMG,
                    "victim_name": PLANTED_NAME,
                    "victim_age": 34,
                },
                {"type": "Point", "coordinates": [36.21, 49.91]},
            ),
        ],
    }
    out = {}
    for layer, features in files.items():
        path = folder / f"{layer}.geojson"
        path.write_text(_feature_collection(features), encoding="utf-8")
        out[layer] = path
    return out


def seed_store(folder: Path, store: Path) -> list[str]:
    """Fill ``store`` with :func:`seed_files` through the real ingest pipeline; problems."""
    from minemap.ingest import ingest_file

    problems = []
    for layer, path in seed_files(folder).items():
        result = ingest_file(path, layer, store=store, user="e2e")
        if result.status != "accepted":
            problems.append(f"{layer}: {[str(p) for p in result.report.errors]}")
    return problems


PASSWORD = "e2e correct horse battery staple"
"""The password of every test account (a real argon2id hash in the store)."""
ACCOUNTS = {role: f"e2e-{role}" for role in ("planner", "field", "funder", "admin")}


def seed_accounts(store: Path) -> None:
    """One account per role, through the real accounts API (``minemap.auth.add_user``)."""
    from minemap.auth import add_user
    from minemap.store import open_store

    with open_store(store, create=True) as opened:
        for role, name in ACCOUNTS.items():
            add_user(opened, name, role=role, password=PASSWORD, by="tests")


def signed_in(role: str, *, timeout: int = 120) -> AppTest:
    """The app, run once, for a session signed in as ``role`` through ``minemap.auth.sign_in``.

    Only the session token goes into session state — exactly what the sign-in page keeps.
    """
    from minemap.auth import sign_in

    with open_store_for_test() as opened:
        token = sign_in(opened, ACCOUNTS[role], PASSWORD).token
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.session_state["auth_token"] = token
    at.run()
    assert not at.exception, at.exception
    return at


def open_store_for_test():
    from minemap.store import open_store
    from minemap_app import cache

    return open_store(cache.store_path())


@pytest.fixture
def seeded_store(tmp_path, monkeypatch) -> Path:
    """A store filled through ingest with the small hostile files, one account per role;
    $MINEMAP_STORE points at it."""
    store = tmp_path / "store.gpkg"
    problems = seed_store(tmp_path, store)
    assert problems == [], problems
    seed_accounts(store)
    monkeypatch.setenv("MINEMAP_STORE", str(store))
    return store


@dataclass
class Server:
    url: str
    store: Path


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[Server]:
    """The real app server on a free port with a seeded store and one account per role."""
    require_chromium()
    folder = tmp_path_factory.mktemp("app_server")
    store = folder / "store.gpkg"
    problems = seed_store(folder, store)
    if problems:
        pytest.fail(f"seeding the e2e store failed: {problems}")
    seed_accounts(store)
    port = free_port()
    proc = start_serve(store, port, folder / "server.log", cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"app server did not start:\n{(folder / 'server.log').read_text()}")
            time.sleep(0.3)
        yield Server(url=url, store=store)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser(app_server) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(require_chromium()), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class OfflinePage:
    page: object
    blocked: list[str]
    errors: list[str]


@pytest.fixture
def offline_page(browser, app_server) -> Iterator[OfflinePage]:
    """A page whose every request off localhost is blocked (and recorded): no internet."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    blocked: list[str] = []
    errors: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(app_server.url) or url.split(":", 1)[0] in ("data", "blob", "about"):
            return r.continue_()
        blocked.append(url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield OfflinePage(page, blocked, errors)
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot to artifacts/screenshots/<name>.png (test artefact)."""

    def save(page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return save
