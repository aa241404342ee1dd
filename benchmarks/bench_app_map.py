"""Benchmark: the Map page with M-scale data (100,000 farmland parcels) in headless Chromium.

Run from the repository root (needs Debian's chromium)::

    python benchmarks/bench_app_map.py [N_PARCELS]

Builds a fixed-seed synthetic store — N (default 100,000) farmland parcels, a quarter of
them in Kharkiv oblast, plus 2,000 hazard areas, 3,000 released polygons, 3,000 strikes
and 2,000 casualties — through ``validate_layer`` and ``store.ingest``, starts the real
server (``python -m minemap serve``) on it, and measures in Chromium with the internet
blocked:

* the time from the sign-in click until the map has drawn its layers (counted as the
  Leaflet layers on ``window.map`` that carry a GeoJSON feature): first right after the
  server started (the page is opened as soon as ``/_stcore/health`` answers; the server
  starts the background warm-up of the map's default view, ``cache.warm_map``, when it
  starts, so this waits for what is left of it — the server's log says when it ended,
  printed in brackets), then after a reload (warm caches). Loading the page and the
  sign-in form is timed apart and printed in brackets;
* a zoom into an area (zoom 11, the features in view swapped in), a pan there (half a
  view east) and a zoom back out to the national view (6), on the warm map: from Leaflet's
  ``setView`` in the map's iframe until the new layers are drawn and the page is idle
  (the map fragment's rerun, not the app's);
* the time for each filter change: oblast → Kharkiv, the period's start moved (only
  casualties and strikes change), the period's end moved (the engine re-runs as of it),
  then the language (English) and the basemap (OpenStreetMap, its tiles blocked);
* per view, the CPU seconds (user + system) of the server's processes and of the
  browser's (the fair figure on a shared machine), and the bytes the server sent over the
  websocket (the map's data travels there as the component's arguments);
* pass/fail against the quality bar per view.

``MINEMAP_BENCH_STORE=/path/store.gpkg`` builds the store there once and reuses it (the
first map's row is that of a store never prioritised only on a fresh copy: the engine keeps
its surface and tasks in the store); ``MINEMAP_BENCH_AFTER_WARM_UP=1`` opens the page only
once the server's warm-up has ended (a first visitor who comes later);
``MINEMAP_BENCH_FRAMES=1`` prints every message the server sends (type, size, the map's
script and layer bytes, whether it is cacheable; a reference to a cached one is ~100 B).

The quality bar (issue 4): every render under 3 s, no view over 5 MB.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minemap._report import Report  # noqa: E402
from minemap.auth import add_user  # noqa: E402
from minemap.store import open_store  # noqa: E402
from minemap.validate import validate_layer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 180_000
LIMIT_S = 3.0  # issue 4: every render under 3 s …
LIMIT_MB = 5.0  # … and no view sends more than 5 MB
COUNT_JS = "() => window.map ? Object.values(window.map._layers).filter(l => l.feature).length : 0"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MAP_FRAME = "iframe[title*='folium']"
DETAIL_JS = """() => {
    // The features in view: the groups after the page's legend holder (mapview.GroupControls)
    // that are on the map, counted as Leaflet layers carrying a GeoJSON feature.
    const groups = window.feature_group || [];
    let i = groups.length - 1;
    while (i >= 0 && !groups[i].minemapControls) { i--; }
    let n = 0;
    const walk = (layer) => {
        if (layer.feature) { n += 1; }
        if (layer.eachLayer) { layer.eachLayer(walk); }
    };
    groups.slice(i + 1).filter((g) => window.map.hasLayer(g)).forEach(walk);
    return n;
}"""
TASKS_PENDING = "ще обчислюються"  # map.tasks_computing (uk): the tasks are not drawn yet


def _points(rng: np.random.Generator, n: int, kharkiv_share: float) -> tuple[np.ndarray, ...]:
    k = int(n * kharkiv_share)
    x = np.concatenate([rng.uniform(35.2, 37.8, k), rng.uniform(24.0, 38.5, n - k)])
    y = np.concatenate([rng.uniform(49.2, 50.3, k), rng.uniform(46.0, 51.5, n - k)])
    return x, y


def synthetic_layers(n_parcels: int, seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-03-01", "2025-06-30", freq="D").strftime("%Y-%m-%d").to_numpy()
    out: dict[str, gpd.GeoDataFrame] = {}
    x, y = _points(rng, n_parcels, 0.25)
    d = rng.uniform(0.002, 0.006, n_parcels)
    out["farmland"] = gpd.GeoDataFrame(
        {
            "parcel_id": [f"F-{i:06d}" for i in range(n_parcels)],
            "land_use": rng.choice(["arable", "pasture", "orchard"], n_parcels),
            "crop": rng.choice(["wheat", "sunflower", "maize"], n_parcels),
        },
        geometry=shapely.box(x, y, x + d, y + d),
        crs="EPSG:4326",
    )
    n = 2_000
    x, y = _points(rng, n, 0.4)
    d = rng.uniform(0.005, 0.02, n)
    out["hazards"] = gpd.GeoDataFrame(
        {
            "hazard_id": [f"H-{i:05d}" for i in range(n)],
            "date": rng.choice(dates, n),
            "hazard_type": rng.choice(["SHA", "CHA"], n, p=[0.7, 0.3]),
            "contamination": rng.choice(["AP", "AT", "CMR", "UXO"], n),
        },
        geometry=shapely.box(x, y, x + d, y + d),
        crs="EPSG:4326",
    )
    n = 3_000
    x, y = _points(rng, n, 0.4)
    d = rng.uniform(0.003, 0.01, n)
    out["cleared"] = gpd.GeoDataFrame(
        {
            "survey_id": [f"R-{i:05d}" for i in range(n)],
            "date": rng.choice(dates, n),
            "team": "T",
            "operator": "Op",
            "status": rng.choice(["cleared", "reduced", "cancelled"], n),
            "method": rng.choice(["manual", "mechanical", "non-technical survey"], n),
        },
        geometry=shapely.box(x, y, x + d, y + d),
        crs="EPSG:4326",
    )
    n = 3_000
    x, y = _points(rng, n, 0.4)
    out["strikes"] = gpd.GeoDataFrame(
        {
            "strike_id": [f"S-{i:05d}" for i in range(n)],
            "date": rng.choice(dates, n),
            "munition_type": rng.choice(["9M55K", "9M27K", "M26"], n),
            "cluster_munition": True,
        },
        geometry=shapely.points(x, y),
        crs="EPSG:4326",
    )
    n = 2_000
    x, y = _points(rng, n, 0.4)
    out["casualties"] = gpd.GeoDataFrame(
        {
            "incident_id": [f"C-{i:05d}" for i in range(n)],
            "date": rng.choice(dates, n),
            "killed": rng.integers(0, 2, n),
            "injured": rng.integers(0, 3, n),
            "civilian": True,
        },
        geometry=shapely.points(x, y),
        crs="EPSG:4326",
    )
    return out


def build_store(path: Path, n_parcels: int) -> None:
    with open_store(path) as store:
        for name, frame in synthetic_layers(n_parcels).items():
            t0 = time.perf_counter()
            result = validate_layer(frame, name, file=f"{name}.bench")
            if not result.report.ok:
                raise SystemExit(f"{name}: {result.report.errors[:3]}")
            report = Report(file=f"{name}.bench", layer=name)
            report.extend(result.report)
            store.ingest(
                result.frame,
                layer=name,
                report=report,
                file_name=f"{name}.bench",
                sha256=f"bench-{name}-{n_parcels}",
            )
            print(f"  stored {len(frame):>7,} {name:<10} in {time.perf_counter() - t0:5.1f} s")
        # The app opens nothing before sign-in (issue 6): one planner account to measure with.
        add_user(store, BENCH_USER, role="planner", password=BENCH_PASSWORD, by="benchmark")


BENCH_USER = "bench-planner"
BENCH_PASSWORD = "benchmark password, this store only"


def _describe_frame(payload: bytes) -> str:
    """One line on a ForwardMsg (MINEMAP_BENCH_FRAMES=1): type, size, cached reference."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    try:
        msg.ParseFromString(payload)
    except Exception:
        return f"{len(payload):>9,} B (not a ForwardMsg)"
    kind = msg.WhichOneof("type")
    if kind == "delta":
        kind = f"delta.{msg.delta.WhichOneof('type')}"
        if msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            kind += f".{element.WhichOneof('type')}"
            if element.WhichOneof("type") == "component_instance":
                args = json.loads(element.component_instance.json_args)
                kind += (
                    " ("
                    + ", ".join(
                        f"{k} {len(args.get(k) or ''):,}" for k in ("script", "feature_group")
                    )
                    + ")"
                )
    # What per-message deflate (server.enableWebsocketCompression) would put on the wire.
    deflated = len(zlib.compress(payload, 6))
    return (
        f"{len(payload):>9,} B (deflated {deflated:,} B) {kind}"
        f" hash={msg.hash[:10]} cacheable={msg.metadata.cacheable}"
        f" fragment={msg.delta.fragment_id[:8] if msg.HasField('delta') else ''}"
    )


def _warm_up_note(server_log: Path, answered: float) -> str:
    """When the server's warm-up (``minemap_app.server``) ended, from its log line."""
    for line in server_log.read_text(errors="replace").splitlines():
        if "map warmed in" in line:
            stamp = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
            stamp += int(line[20:23]) / 1000
            return f"warm-up done {stamp - answered:.2f} s after the server answered"
    return "warm-up not done yet"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return
    if argv and not argv[0].isdigit():
        raise SystemExit(f"usage: bench_app_map.py [N_PARCELS]  (got {argv[0]!r}; see --help)")
    n_parcels = int(argv[0]) if argv else 100_000
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="minemap-bench-app-") as folder:
        # $MINEMAP_BENCH_STORE: reuse (or build once at) that path, to iterate faster.
        keep = os.environ.get("MINEMAP_BENCH_STORE")
        after_warm_up = bool(os.environ.get("MINEMAP_BENCH_AFTER_WARM_UP"))
        store = Path(keep) if keep else Path(folder) / "store.gpkg"
        if not store.exists():
            print(f"building a store with {n_parcels:,} parcels …", flush=True)
            build_store(store, n_parcels)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server_log = Path(folder) / "server.log"
        command = [sys.executable, "-m", "minemap", "serve", "--store", str(store)]
        with server_log.open("w") as log_file:
            server = subprocess.Popen(
                [*command, "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.1)
            answered = time.time()
            # Ready: the server has also started warming the map (it logs that once its
            # runtime runs and the core is imported, usually as it answers) — or, with
            # $MINEMAP_BENCH_AFTER_WARM_UP, ended it (a user who comes later).
            ready = ("map warmed in",) if after_warm_up else ("warming the map",)
            for _ in range(3000):
                text = server_log.read_text(errors="replace")
                if any(mark in text for mark in ready) or "not warming" in text:
                    break
                time.sleep(0.1)
            print(
                f"  (warm-up {'ended' if after_warm_up else 'started'}"
                f" {time.time() - answered:.2f} s after the server answered)"
            )
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.route(
                    "**/*",
                    lambda r: r.continue_() if r.request.url.startswith(url) else r.abort(),
                )
                page = context.new_page()
                received = [0]

                frames_log = bool(os.environ.get("MINEMAP_BENCH_FRAMES"))

                def on_frame(payload) -> None:
                    received[0] += len(payload)
                    if frames_log and len(payload) > 100:
                        print(f"    {_describe_frame(payload)}", flush=True)

                def on_ws(ws):
                    ws.on("framereceived", on_frame)

                page.on("websocket", on_ws)
                page.on("pageerror", lambda e: print(f"  page error: {e}", flush=True))
                page.on(
                    "console",
                    lambda m: m.type == "error" and print(f"  console: {m.text}", flush=True),
                )
                rows = []
                server_proc, me = psutil.Process(server.pid), psutil.Process()

                def cpu_seconds() -> tuple[float, float]:
                    """CPU (user+sys) so far of the server's and of the browser's processes."""
                    server_pids = {server.pid} | {
                        c.pid for c in server_proc.children(recursive=True)
                    }
                    totals = [0.0, 0.0]
                    for proc in me.children(recursive=True):
                        try:
                            t = proc.cpu_times()
                        except psutil.NoSuchProcess:
                            continue
                        totals[0 if proc.pid in server_pids else 1] += t.user + t.system
                    return totals[0], totals[1]

                mark_js = (
                    "() => { if (window.map) { window.__bench_mark = window.minemapSwaps || 0; } }"
                )
                state_js = (
                    "() => [window.__bench_mark === undefined ? -1 : window.__bench_mark,"
                    " window.minemapSwaps || 0,"
                    " window.map ? Object.values(window.map._layers)"
                    ".filter(l => l.feature).length : 0]"
                )

                def drawn(detail: bool | None = None) -> tuple[int, bool]:
                    """Features on the map once it has drawn the new layers, and whether the
                    Leaflet map was kept (layers swapped in) rather than re-created.

                    ``detail``: for a pan or zoom, whether the new layers must include
                    features in view (zoomed in) or none (zoomed out); ``None``: either.
                    """
                    deadline = time.perf_counter() + TIMEOUT_MS / 1000
                    while time.perf_counter() < deadline:
                        try:
                            if page.locator(MAP_FRAME).count() == 1:
                                body = page.frame_locator(MAP_FRAME).locator("body")
                                mark, swaps, n = body.evaluate(state_js)
                                if mark < 0 and n:  # a new map (no mark), drawn
                                    return n, False
                                swapped = mark >= 0 and swaps > mark and n  # layers swapped in
                                if swapped and (
                                    detail is None or (body.evaluate(DETAIL_JS) > 0) == detail
                                ):
                                    return n, True
                        except PlaywrightError:
                            pass
                        time.sleep(0.05)
                    raise TimeoutError("the map drew no new features")

                def measure(label: str, action, *, detail: bool | None = None) -> None:
                    # Mark the current map: done is a new map that has drawn, or new layers
                    # swapped into the marked one (every send's first group counts the swaps
                    # in window.minemapSwaps: mapview.SwapStart).
                    if page.locator(MAP_FRAME).count():
                        page.frame_locator(MAP_FRAME).first.locator("body").evaluate(mark_js)
                    received[0] = 0
                    cpu0 = cpu_seconds()
                    t0 = time.perf_counter()
                    action()
                    features, kept = drawn(detail)
                    # The swaps so far: the tasks come with a later one.
                    swaps_now = page.frame_locator(MAP_FRAME).locator("body").evaluate(state_js)[1]
                    page.wait_for_function(
                        "!document.querySelector('[data-testid=\"stStatusWidget\"]')",
                        timeout=TIMEOUT_MS,
                    )
                    report(label, t0, cpu0, features, kept)
                    if page.get_by_text(TASKS_PENDING).count():
                        # The other layers are drawn; the tasks follow when the engine is
                        # done (the page reruns itself): timed from the same start.
                        # Done: the pending note is gone and the tasks' swap is drawn (the
                        # note goes when the page's rerun starts, before the map is sent).
                        page.wait_for_function(
                            f"!document.body.innerText.includes({TASKS_PENDING!r})",
                            timeout=TIMEOUT_MS,
                        )
                        body = page.frame_locator(MAP_FRAME).locator("body")
                        deadline = time.perf_counter() + TIMEOUT_MS / 1000
                        while body.evaluate(state_js)[1] <= swaps_now:
                            if time.perf_counter() > deadline:
                                raise TimeoutError("the tasks were never swapped in")
                            time.sleep(0.05)
                        page.wait_for_function(
                            "!document.querySelector('[data-testid=\"stStatusWidget\"]')",
                            timeout=TIMEOUT_MS,
                        )
                        features = body.evaluate(COUNT_JS)
                        report("  … with the priority tasks", t0, cpu0, features, True)

                def report(label: str, t0: float, cpu0: tuple[float, float], features, kept):
                    seconds = time.perf_counter() - t0
                    cpu1 = cpu_seconds()
                    server_cpu, browser_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
                    mb = received[0] / 1e6
                    ok = seconds < LIMIT_S and mb <= LIMIT_MB
                    rows.append((label, seconds, server_cpu, browser_cpu, mb, features, ok))
                    print(
                        f"  {label:<44} {seconds:6.2f} s  {server_cpu:6.2f} s  {browser_cpu:6.2f} s"
                        f"  {mb:6.2f} MB  {features:>6}  {'kept' if kept else 'new':>4}"
                        f"  {'pass' if ok else 'FAIL'}",
                        flush=True,
                    )

                print("map page in Chromium (internet blocked):", flush=True)
                print(
                    f"  {'view':<44} {'wall':>8}  {'server':>8}  {'browser':>8}  {'sent':>9}"
                    f"  {'drawn':>6}  {'map':>4}  < {LIMIT_S:g} s, ≤ {LIMIT_MB:g} MB",
                    flush=True,
                )
                print(f"  {'':<44} {'':>8}  {'CPU':>8}  {'CPU':>8}", flush=True)

                def settle_map() -> None:
                    """Wait until the map's opening view (an animated fit) is done: an
                    animation still running would undo a setView of ours."""
                    page.frame_locator(MAP_FRAME).locator("body").evaluate(
                        "() => new Promise((done) => { const check = () =>"
                        " (window.map && !window.map._animatingZoom) ? done()"
                        " : setTimeout(check, 50); check(); })"
                    )
                    time.sleep(1.0)  # the fit's own moveend reports a view: let it rerun
                    page.wait_for_function(
                        "!document.querySelector('[data-testid=\"stStatusWidget\"]')",
                        timeout=TIMEOUT_MS,
                    )

                def open_sign_in_form() -> None:
                    # A page load is a new Streamlit session: it signs in again. Loading the
                    # page and the sign-in form is not the map: timed apart, for the record.
                    t0 = time.perf_counter()
                    page.goto(url)
                    page.wait_for_selector("input[type='password']", timeout=TIMEOUT_MS)
                    page.locator("[data-testid='stTextInput'] input").first.fill(BENCH_USER)
                    page.locator("input[type='password']").fill(BENCH_PASSWORD)
                    print(
                        f"  (page load to the filled sign-in form: "
                        f"{time.perf_counter() - t0:.2f} s)",
                        flush=True,
                    )

                def sign_in() -> None:
                    page.get_by_role("button", name="Увійти", exact=True).click()

                # The first page load (the sign-in form) starts the background warm-up of
                # the map's default view (cache.warm_map); signing in follows at once, so
                # the first map still waits for whatever of the engine's run is left.
                open_sign_in_form()
                measure("first map after server start (sign-in)", sign_in)
                print(f"  ({_warm_up_note(server_log, answered)})", flush=True)
                open_sign_in_form()
                measure("map after sign-in, warm caches", sign_in)

                # Pan and zoom on the warm map (national summary view, the whole period):
                # Leaflet's own API in the map's iframe, as a user's drag or wheel would.
                # The browser reports the new view (debounced moveend), the map fragment
                # reruns alone and swaps the features in view into the kept Leaflet map.
                def set_view(lat: float, lon: float, zoom: int):
                    def action() -> None:
                        page.frame_locator(MAP_FRAME).locator("body").evaluate(
                            "() => { window.map.setView("
                            f"[{lat}, {lon}], {zoom}, {{animate: false}}); }}"
                        )

                    return action

                settle_map()
                measure("zoom in to 11 (features in view)", set_view(49.9, 36.3, 11), detail=True)
                measure("pan (half a view east)", set_view(49.9, 36.55, 11), detail=True)
                measure("zoom back out to 6 (summary)", set_view(48.5, 31.2, 6), detail=False)

                def pick_oblast() -> None:
                    page.locator(
                        "[data-testid='stSidebar'] [data-testid='stSelectbox']"
                    ).first.click()
                    page.keyboard.type("Харківська")
                    page.keyboard.press("Enter")

                measure("filter: oblast = Kharkiv", pick_oblast)

                def narrow_period() -> None:
                    handle = page.locator(
                        "[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']"
                    ).first
                    handle.focus()
                    handle.press("PageUp")  # a tenth of the range later

                measure("filter: period start moved", narrow_period)

                def move_period_end() -> None:
                    handle = page.locator(
                        "[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']"
                    ).nth(1)
                    handle.focus()
                    handle.press("PageDown")  # a tenth of the range earlier

                measure("filter: period end moved (engine re-runs)", move_period_end)

                # The language and the basemap: layers swapped into the kept map too (the
                # outline names and the tile layer travel with the layers; OSM's tiles are
                # blocked here, so only the swap is timed).
                def english() -> None:
                    page.get_by_text("English", exact=True).click()

                measure("language: English", english)

                def osm_basemap() -> None:
                    box = page.locator("[data-testid='stSidebar'] input[aria-label='Basemap']")
                    box.click()
                    page.keyboard.type("OpenStreetMap")
                    page.keyboard.press("Enter")

                measure("basemap: OpenStreetMap", osm_basemap)
                browser.close()
            slow = [r for r in rows if r[1] >= LIMIT_S]
            big = [r for r in rows if r[4] > LIMIT_MB]
            print(f"over {LIMIT_S:g} s: {len(slow)}; over {LIMIT_MB:g} MB: {len(big)}")
            load = os.getloadavg()
            print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
