"""End-to-end: the real server in headless Chromium, with the internet blocked."""

from __future__ import annotations

import json
import time

import pytest

from tests.app.conftest import ACCOUNTS, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MAP_FRAME = "iframe[title*='folium']"
XSS_TEXT = "<img src=x onerror=window.__xss=1>"


def sign_in(page, base: str, name: str, password: str) -> None:
    """Fill the sign-in form of a fresh session (every new browser session must sign in)."""
    page.goto(f"{base}/")
    page.wait_for_selector("input[type='password']", timeout=30_000)
    page.locator("[data-testid='stTextInput'] input").first.fill(name)
    page.locator("input[type='password']").fill(password)
    page.get_by_role("button", name="Увійти", exact=True).click()


def open_page(offline, url: str, role: str = "planner"):
    """Sign in as ``role`` and open the page at ``url`` through the sidebar navigation."""
    page = offline.page
    base, path = url.rsplit("/", 1)
    sign_in(page, base, ACCOUNTS[role], PASSWORD)
    page.wait_for_selector("[data-testid='stSidebarNavLink']", timeout=30_000)
    if path:
        page.locator(f"[data-testid='stSidebarNavLink'][href$='/{path}']").click()
        page.wait_for_url(f"**/{path}", timeout=30_000)
    page.wait_for_selector("h1", timeout=30_000)
    return page


# The map draws on a canvas (Leaflet's canvas renderer), so there are no SVG paths to count:
# the features drawn are the Leaflet layers on the map that carry a GeoJSON ``feature``
# (optionally only those stroked in one colour).
_DRAWN = """(body, colour) => {
    let n = 0;
    window.map.eachLayer(l => { if (l.feature && (!colour || l.options.color === colour)) n++; });
    return n;
}"""


def drawn_features(frame, colour: str | None = None) -> int:
    """How many features the map in ``frame`` has drawn (of one stroke colour)."""
    return frame.locator("body").evaluate(_DRAWN, colour)


def map_frame(page):
    page.wait_for_selector(MAP_FRAME, timeout=30_000)
    # After a rerun the previous map's iframe lingers until the new one replaced it, and a
    # rerun still running (e.g. the language switch) may add its new map a moment later:
    # wait until one iframe has been the only one for a second.
    one = f'document.querySelectorAll("{MAP_FRAME}").length === 1'
    for _ in range(30):
        page.wait_for_function(one, timeout=30_000)
        page.evaluate(f'document.querySelector("{MAP_FRAME}").dataset.seen = "1"')
        page.wait_for_timeout(1_000)
        if page.evaluate(f'{one} && document.querySelector("{MAP_FRAME}").dataset.seen === "1"'):
            break
    page.query_selector(MAP_FRAME).content_frame().wait_for_function(
        "() => window.map && Object.values(window.map._layers).some(l => l.feature)",
        timeout=30_000,
    )
    frame = page.frame_locator(MAP_FRAME)
    frame.locator("canvas.leaflet-zoom-animated").first.wait_for(timeout=30_000)
    return frame


def english(page, heading: str = "Clearance map") -> None:
    page.get_by_text("English", exact=True).click()
    page.wait_for_selector(f"h1:has-text('{heading}')", timeout=30_000)


def test_map_draws_its_layers_offline(app_server, offline_page, screenshot):
    page = open_page(offline_page, f"{app_server.url}/")
    frame = map_frame(page)
    # 26 bundled oblast outlines, plus the seeded store's polygons.
    expected = 26 + 5
    assert drawn_features(frame) >= expected
    # Drawn on the canvas renderer (one <canvas>, no SVG path per feature).
    assert frame.locator("path.leaflet-interactive").count() == 0
    assert offline_page.blocked == [], (
        f"the app tried to reach the internet: {offline_page.blocked}"
    )
    assert offline_page.errors == []
    screenshot(page, "map")


def test_hostile_feature_text_is_shown_escaped_and_never_runs(app_server, offline_page):
    page = open_page(offline_page, f"{app_server.url}/")
    english(page)
    frame = map_frame(page)
    # Open the popups of every hazard polygon: one carries the <img onerror> id. Tasks are
    # drawn over hazards, so the click is fired on each hazard layer itself (as Leaflet's
    # canvas renderer does for a click on it), propagating to the layer's popup handler.
    sha = "#f28e2b"  # the two SHA polygons of the seed
    assert drawn_features(frame, sha) == 2
    body = frame.locator("body")
    shown = []
    for i in range(2):
        body.evaluate(
            """(body, [colour, i]) => {
                const hits = [];
                window.map.eachLayer(l => {
                    if (l.feature && l.options.color === colour) hits.push(l);
                });
                const l = hits[i];
                l.fire("click", {latlng: l.getBounds().getCenter()}, true);
            }""",
            [sha, i],
        )
        popup = frame.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        shown.append(popup.inner_text())
    assert any(XSS_TEXT in text for text in shown), shown
    iframe = page.frame_locator(MAP_FRAME).locator("body")
    assert iframe.evaluate("() => typeof window.__xss") == "undefined"
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert frame.locator("img[src='x']").count() == 0


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("priorities", "Priorities"),
        ("upload", "Upload survey data"),
        ("reports", "Reports"),
        ("quality", "Data quality"),
    ],
)
def test_every_page_opens_without_error(app_server, offline_page, screenshot, path, heading):
    page = open_page(offline_page, f"{app_server.url}/{path}")
    english(page, heading)
    assert page.locator("[data-testid='stException']").count() == 0
    assert offline_page.errors == []
    screenshot(page, path)


def test_changing_a_weight_re_ranks_in_the_browser(app_server, offline_page, screenshot):
    page = open_page(offline_page, f"{app_server.url}/priorities")
    english(page, "Priorities")
    top = page.locator("[data-testid='stCaptionContainer']", has_text="Top of the ranking")
    top.wait_for(timeout=60_000)
    before = top.inner_text()
    sliders = "[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']"
    for i in range(3):  # casualty risk, expected items, evidence strength → 0
        thumb = page.locator(sliders).nth(i)
        thumb.focus()
        thumb.press("Home")
        page.wait_for_function(
            f"document.querySelectorAll(\"{sliders}\")[{i}].value === '0'", timeout=30_000
        )
    page.wait_for_function(
        "(before) => [...document.querySelectorAll(\"[data-testid='stCaptionContainer']\")]"
        ".some(e => e.innerText.startsWith('Top of the ranking') && e.innerText !== before)",
        arg=before,
        timeout=60_000,
    )
    assert top.inner_text() != before
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "priorities_reweighted")


def _hazard_file(features: list[tuple[dict, list[list[float]]]]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
                for props, ring in features
            ],
        }
    ).encode()


def _ring(lon: float, lat: float, size: float = 0.02) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def _upload(page, name: str, data: bytes) -> None:
    page.locator("input[type='file']").set_input_files(
        {"name": name, "mimeType": "application/geo+json", "buffer": data}
    )


def _confirmed_paths(app_server, offline_page) -> int:
    page = open_page(offline_page, f"{app_server.url}/")
    frame = map_frame(page)
    return drawn_features(frame, "#c0392b")


def test_bad_upload_names_every_problem_and_imports_nothing(app_server, offline_page, screenshot):
    page = open_page(offline_page, f"{app_server.url}/upload")
    english(page, "Upload survey data")
    bad = _hazard_file(
        [
            (
                {
                    "hazard_id": "BAD-1",
                    "date": "not a date",
                    "hazard_type": "maybe",
                    "contamination": "AP",
                },
                _ring(36.6, 49.9),
            ),
            (
                {
                    "hazard_id": "BAD-2",
                    "date": "2024-01-01",
                    "hazard_type": "SHA",
                    "contamination": "AP",
                },
                _ring(10.0, 10.0),
            ),
        ]
    )
    _upload(page, "bad.geojson", bad)
    page.wait_for_selector("text=problems must be fixed before import", timeout=60_000)
    problems = page.locator("[data-testid='stTable']").first.inner_text()
    for expected in ("BAD-1", "date", "hazard_type", "BAD-2", "outside the area of operations"):
        assert expected in problems
    assert page.get_by_role("button", name="Import all checked files").is_disabled()
    screenshot(page, "upload_rejected")


def test_good_upload_is_imported_and_appears_on_the_map(app_server, offline_page, screenshot):
    before = _confirmed_paths(app_server, offline_page)
    page = open_page(offline_page, f"{app_server.url}/upload")
    english(page, "Upload survey data")
    good = _hazard_file(
        [
            (
                {
                    "hazard_id": "UP-1",
                    "date": "2024-05-05",
                    "hazard_type": "CHA",
                    "contamination": "AT",
                    "evidence": "<script>window.__xss=3</script>",
                },
                _ring(36.7, 49.95),
            )
        ]
    )
    _upload(page, "field <img src=x onerror=window.__xss=4>.geojson", good)
    page.wait_for_selector("text=features ready to import", timeout=60_000)
    assert page.get_by_text("field <img src=x onerror=window.__xss=4>.geojson: 1").count() == 1
    page.get_by_role("button", name="Import all checked files").click()
    page.wait_for_selector("text=Imported 1 files", timeout=60_000)
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    screenshot(page, "upload_imported")
    assert _confirmed_paths(app_server, offline_page) == before + 1


def test_wrong_password_is_refused_with_a_clear_message(app_server, offline_page, screenshot):
    page = offline_page.page
    sign_in(page, app_server.url, ACCOUNTS["planner"], "this is not the password")
    page.wait_for_selector("text=wrong account name or password", timeout=30_000)
    assert page.locator("[data-testid='stSidebarNavLink']").count() == 0
    assert page.locator("iframe[title*='folium']").count() == 0
    screenshot(page, "signin_refused")


def test_planner_signs_in_and_sees_the_map(app_server, offline_page):
    page = open_page(offline_page, f"{app_server.url}/")
    map_frame(page)
    links = page.locator("[data-testid='stSidebarNavLink']")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any(h.endswith("/upload") for h in hrefs)


def test_funder_has_no_upload_page_and_downloads_a_report(app_server, offline_page, screenshot):
    page = open_page(offline_page, f"{app_server.url}/reports", role="funder")
    links = page.locator("[data-testid='stSidebarNavLink']")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert not any(h.endswith(("/upload", "/priorities", "/admin")) for h in hrefs), hrefs
    page.get_by_text("CSV", exact=True).click()
    page.get_by_role("button", name="Створити звіт").click()
    button = page.get_by_role("button", name="Завантажити звіт (CSV)")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=30_000) as info:
        button.click()
    data = info.value.path().read_bytes()
    assert len(data) > 100
    assert b"Olena Plantedname" not in data
    from minemap.store import open_store

    # The click's on_click callback runs on the server in the rerun the click triggers,
    # which may land just after the browser saved the file: wait for it.
    deadline = time.monotonic() + 30
    while True:
        with open_store(app_server.store) as store:
            log = store.audit_log()
        mine = (log["action"] == "report_download") & (log["user"] == ACCOUNTS["funder"])
        if mine.any() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert mine.sum() == 1  # the button's click is written to the audit log
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "reports_funder")


def test_planner_runs_a_back_test_and_sees_the_gain_curve(app_server, offline_page, screenshot):
    page = open_page(offline_page, f"{app_server.url}/backtest")
    english(page, "Back-test")
    page.get_by_role("button", name="Run the back-test").click()
    page.wait_for_selector("text=Comparison (95 % intervals from the bootstrap)", timeout=60_000)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    charts.first.wait_for(timeout=30_000)
    assert charts.count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    assert offline_page.blocked == []
    screenshot(page, "backtest")
