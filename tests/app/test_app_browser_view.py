"""End-to-end: detail in view on zoom, and a task chosen on Priorities opens the map on it.

The real server (``minemap serve``) in Debian's headless Chromium with every request off
localhost blocked (fixtures in ``conftest.py``). The map is zoomed with Leaflet's own API
inside streamlit-folium's iframe (``window.map.setView``), as a user's pan/zoom would.

"The app did not rerun the whole page" is checked on the wire: every rerun the browser
asks for after the zoom carries the map fragment's id (Streamlit's ``BackMsg.rerun_script``
decoded from the websocket frames); a full rerun has none. And the Leaflet map is the same
object before and after (a marker set on its window survives, its zoom did not jump).
"""

from __future__ import annotations

import time

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.app.conftest import ACCOUNTS
from tests.app.test_app_browser import MAP_FRAME, english, open_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUMMARY_LABEL = "Summary (H3 cells), features in view when zoomed in"
DETAIL_TOOLTIPS_JS = """() => {
    const out = [];
    const walk = (layer) => {
        const p = layer.feature && layer.feature.properties;
        // webmap's layers carry the tooltip text as "t"; the chosen task's outline "_tooltip".
        if (p && (p.t || p._tooltip)) { out.push(String(p.t || p._tooltip)); }
        if (layer.eachLayer) { layer.eachLayer(walk); }
    };
    // Only the groups on the map count (mapview.SwapStart forgets the replaced ones; this
    // does not rely on it), and of those the ones after the last legend holder.
    const groups = window.feature_group || [];
    let i = groups.length - 1;
    while (i >= 0 && !groups[i].minemapControls) { i--; }
    groups.slice(i + 1).filter((g) => window.map.hasLayer(g)).forEach(walk);
    return out;
}"""


def record_reruns(page) -> list[str | None]:
    """Collect, for every rerun the page asks the server for, its fragment id (None: whole app)."""
    reruns: list[str | None] = []

    def on_frame(payload) -> None:
        if isinstance(payload, str):
            return
        msg = BackMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:
            return
        if msg.WhichOneof("type") == "rerun_script":
            reruns.append(msg.rerun_script.fragment_id or None)

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    return reruns


def choose_summary_view(page) -> None:
    """Pick the summary view (a sidebar filter: a whole-app rerun) and check that it
    reached the map as a layer swap: the same Leaflet map object, its iframe kept."""
    before = leaflet_frame(page)
    before.evaluate(
        "window.__before_filter = window.map; window.__swaps_before = window.minemapSwaps || 0"
    )
    page.get_by_text(SUMMARY_LABEL, exact=True).click()
    page.wait_for_selector("text=showing the national summary", timeout=30_000)
    # New layers were swapped into the existing map: the summary's H3 cells (listed in its
    # switcher) or, when the opening view is already zoomed in (this small store), the
    # features in view, which replace the hidden summary.
    before.wait_for_function(
        "(window.minemapSwaps || 0) > window.__swaps_before",
        timeout=30_000,
    )
    page.wait_for_function(
        "document.body.innerText.includes('Features in view (zoom')"
        " || document.querySelector('iframe[title*=folium]').contentDocument.body.innerText"
        ".includes('Summary by area (H3)')",
        timeout=30_000,
    )
    assert page.locator(MAP_FRAME).count() == 1
    assert before.evaluate("window.__before_filter === window.map") is True


def leaflet_frame(page, *, timeout_s: float = 60.0):
    """The map iframe's Frame once its (new) Leaflet map exists and has settled.

    Settled: the opening fitBounds animates (starting a frame later), and an animation
    still running would end after a setView of ours and undo it.
    """
    settled = (
        "window.map && window.map.getZoom() > 0 && !window.map._animatingZoom && !window.__old_map"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if page.locator(MAP_FRAME).count() == 1:
                frame = page.locator(MAP_FRAME).element_handle().content_frame()
                if frame is not None and frame.evaluate(settled):
                    page.wait_for_timeout(1_000)
                    if (
                        page.locator(MAP_FRAME).count() == 1
                        and not frame.is_detached()
                        and frame.evaluate(settled)
                    ):
                        return frame
        except Exception:  # the iframe was replaced (or a new one added) meanwhile: again
            pass
        page.wait_for_timeout(250)
    raise AssertionError("no settled Leaflet map on the page")


def test_zooming_in_sends_the_features_in_view_without_rerunning_the_app(
    app_server, offline_page, screenshot
):
    reruns = record_reruns(offline_page.page)
    page = open_page(offline_page, f"{app_server.url}/")
    english(page)
    choose_summary_view(page)
    frame = leaflet_frame(page)
    # National zoom: H3 cells only, no feature (the map opens fitted to the cells, which
    # for this small store may already be close enough for detail).
    frame.evaluate("window.map.setView([48.5, 31.2], 6, {animate: false})")
    frame.wait_for_function(f"({DETAIL_TOOLTIPS_JS})().length === 0", timeout=30_000)
    page.wait_for_selector("text=Zoom in to level", timeout=30_000)
    assert frame.evaluate(DETAIL_TOOLTIPS_JS) == []
    frame.evaluate("window.__same_map = 'kept'")
    before = len(reruns)

    # Zoom to hazard HZ-1 (36.20–36.22 E, 49.90–49.92 N) with Leaflet's API.
    frame.evaluate("window.map.setView([49.91, 36.21], 14, {animate: false})")
    # (window.feature_group also holds the page's own layers now: wait for the detail.)
    frame.wait_for_function(
        f"({DETAIL_TOOLTIPS_JS})().some((t) => t.includes('HZ-1'))", timeout=30_000
    )
    tooltips = frame.evaluate(DETAIL_TOOLTIPS_JS)
    assert any("HZ-1" in t for t in tooltips), tooltips
    assert not any("HZ-3" in t for t in tooltips), tooltips  # 0.2° east: out of view
    page.wait_for_selector("text=Features in view (zoom 14)", timeout=30_000)

    # Only the map fragment reran; the Leaflet map is the same one and kept its view.
    after = reruns[before:]
    assert after, "the zoom did not reach the server"
    assert all(fragment_id for fragment_id in after), after
    assert frame.evaluate("window.__same_map") == "kept"
    assert frame.evaluate("window.map.getZoom()") == 14
    assert offline_page.blocked == []
    assert offline_page.errors == []
    screenshot(page, "map_detail_in_view")

    # Back to national zoom: the detail goes, the H3 summary comes back.
    frame.evaluate("window.map.setView([48.5, 31.2], 6, {animate: false})")
    frame.wait_for_function(f"({DETAIL_TOOLTIPS_JS})().length === 0", timeout=30_000)
    assert all(fragment_id for fragment_id in reruns[before:]), reruns[before:]


def test_a_task_chosen_on_priorities_opens_the_map_centred_on_it(
    app_server, offline_page, screenshot
):
    page = open_page(offline_page, f"{app_server.url}/priorities")
    english(page, "Priorities")
    picker = page.locator("[data-testid='stSelectbox']").filter(has_text="Task to show on the map")
    picker.wait_for(timeout=30_000)
    page.wait_for_timeout(1_000)  # let the page's run settle before opening the list
    picker.click()
    page.locator("[role='listbox'] [role='option']").nth(1).click()
    page.get_by_role("link", name="Show on map").wait_for(timeout=30_000)
    assert page.get_by_text("Selected: #").count() == 1
    page.get_by_role("link", name="Show on map").click()
    page.wait_for_selector("h1:has-text('Clearance map')", timeout=30_000)
    page.wait_for_selector("text=Selected task:", timeout=30_000)
    frame = leaflet_frame(page)
    zoom = frame.evaluate("window.map.getZoom()")
    lat, lng = frame.evaluate("[window.map.getCenter().lat, window.map.getCenter().lng]")
    # Every seeded hazard (so every task) lies within 36.20–36.43 E, 49.90–49.98 N.
    assert 36.19 <= lng <= 36.44
    assert 49.89 <= lat <= 49.99
    assert zoom >= 12  # zoomed in on one task, not the national view (6)
    # The task is outlined in the highlight colour.
    # (The map draws on a canvas: count the Leaflet layers, not SVG paths.)
    highlighted = (
        "Object.values(window.map._layers).filter((l) => l.feature"
        " && l.options && l.options.color === '#00b4d8').length"
    )
    frame.wait_for_function(f"{highlighted} > 0", timeout=30_000)
    assert frame.evaluate(highlighted) == 1
    assert offline_page.blocked == []
    assert offline_page.errors == []
    screenshot(page, "map_task_focus")


def test_a_funder_zooming_in_gets_no_exact_features(app_server, offline_page, screenshot):
    page = open_page(offline_page, f"{app_server.url}/", role="funder")
    english(page)
    choose_summary_view(page)
    frame = leaflet_frame(page)  # the map draws (the cells' layers come before the switcher)
    frame.evaluate("window.map.setView([49.91, 36.21], 16, {animate: false})")
    page.wait_for_timeout(3_000)  # time for a fragment rerun, were there one to send detail
    # Hazards, strikes and casualties are H3 aggregates for funders (minemap.auth): none
    # of them in the detail. Released land is exact for funders by policy (safe land).
    assert all(t.startswith("Cleared ") for t in frame.evaluate(DETAIL_TOOLTIPS_JS))
    html = frame.evaluate("document.documentElement.outerHTML")
    for secret in ("HZ-1", "HZ-3", "CAS-1", "Plantedname"):
        assert secret not in html
    assert frame.evaluate("window.map.getZoom()") == 16
    assert offline_page.errors == []
    assert offline_page.blocked == []
    screenshot(page, "map_funder_zoomed")


def test_a_role_taken_away_stops_the_detail_at_the_next_pan(app_server, offline_page):
    """Fragment reruns skip the router: the map checks the session's role itself."""
    from minemap.auth import set_role
    from minemap.store import open_store

    page = open_page(offline_page, f"{app_server.url}/", role="field")
    english(page)
    choose_summary_view(page)
    frame = leaflet_frame(page)
    frame.evaluate("window.map.setView([49.91, 36.21], 14, {animate: false})")
    frame.wait_for_function(f"({DETAIL_TOOLTIPS_JS})().some((t) => t.includes('HZ-1'))")
    try:
        with open_store(app_server.store) as store:
            set_role(store, ACCOUNTS["field"], "funder", by="tests")
        frame.evaluate("window.map.setView([49.915, 36.215], 14, {animate: false})")
        # The whole app reruns as a funder: the page says so and the map is rebuilt.
        page.wait_for_selector("text=(funder)", timeout=30_000)
        html = page.locator(MAP_FRAME).last.element_handle().content_frame().content()
        assert "HZ-1" not in html
    finally:
        with open_store(app_server.store) as store:
            set_role(store, ACCOUNTS["field"], "field", by="tests")
