"""End-to-end: the Leaflet map is kept across language and basemap changes and pans.

The real server (``minemap serve``) in Debian's headless Chromium with every request off
localhost blocked (fixtures in ``conftest.py``). "Kept" means the same ``window.map``
object in the same iframe before and after (a property set on it survives), not a new
map that looks alike.
"""

from __future__ import annotations

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.app.test_app_browser import MAP_FRAME, english, open_page
from tests.app.test_app_browser_view import DETAIL_TOOLTIPS_JS, choose_summary_view, leaflet_frame

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OUTLINE_NAMES_JS = """() => {
    // The oblast outlines' tooltips (webmap's "t") on the map, as one text.
    const out = [];
    window.map.eachLayer((l) => {
        if (l.feature && l.feature.properties && l.options.color === '#555555') {
            out.push(String(l.feature.properties.t));
        }
    });
    return out.join(" | ");
}"""
HAS_TILES_JS = "() => Object.values(window.map._layers).some((l) => l instanceof L.TileLayer)"
LEGEND_JS = "() => (document.querySelector('.minemap-legend') || {}).textContent || ''"
SWITCHER_JS = "() => (document.querySelector('.leaflet-control-layers') || {}).textContent || ''"


def record_map_sends(page) -> list[str]:
    """For every message from the server that carries the map, ``"map"`` (the component
    with all its arguments) or ``"ref"`` (a reference to a message the browser cached)."""
    sends: list[str] = []

    def on_frame(payload) -> None:
        if isinstance(payload, str):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:
            return
        if msg.WhichOneof("type") == "ref_hash":
            sends.append("ref")
        elif (
            msg.WhichOneof("type") == "delta"
            and msg.delta.new_element.WhichOneof("type") == "component_instance"
        ):
            sends.append("map")

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return sends


def mark(frame) -> None:
    frame.evaluate("() => { window.map.__minemap_mark = 'kept'; }")


def choose_basemap(page, label: str) -> None:
    box = page.locator("[data-testid='stSidebar'] input[aria-label='Basemap']")
    box.click()
    page.keyboard.type(label)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(label) => document.querySelector("
        "\"[data-testid='stSidebar'] input[aria-label='Basemap']\").value === label",
        arg=label,
        timeout=30_000,
    )


def same_map(page, frame) -> bool:
    return page.locator(MAP_FRAME).count() == 1 and frame.evaluate(
        "() => window.map.__minemap_mark === 'kept'"
    )


def test_language_and_basemap_changes_keep_the_leaflet_map(app_server, offline_page, screenshot):
    page = open_page(offline_page, f"{app_server.url}/")
    frame = leaflet_frame(page)
    frame.wait_for_function(f"({OUTLINE_NAMES_JS})().includes('Харківська')", timeout=30_000)
    mark(frame)

    # The language: the outline names change in the same map.
    english(page)
    frame.wait_for_function(f"({OUTLINE_NAMES_JS})().includes('Kharkiv')", timeout=30_000)
    assert "Харківська" not in frame.evaluate(OUTLINE_NAMES_JS)
    frame.wait_for_function(f"({SWITCHER_JS})().includes('Oblast boundaries')", timeout=30_000)
    assert same_map(page, frame)
    assert frame.evaluate(HAS_TILES_JS) is False

    # The basemap: OpenStreetMap's tile layer is added to the same map (its tiles are
    # blocked here: no internet) …
    choose_basemap(page, "OpenStreetMap (needs internet)")
    frame.wait_for_function(HAS_TILES_JS, timeout=30_000)
    assert same_map(page, frame)
    assert offline_page.blocked, "the tile layer asked for no tile"
    assert all("tile.openstreetmap.org" in url for url in offline_page.blocked)
    # … and taken out of it again, the outlines still drawn.
    choose_basemap(page, "None (offline, oblast outlines)")
    frame.wait_for_function(f"!({HAS_TILES_JS})()", timeout=30_000)
    assert "Kharkiv" in frame.evaluate(OUTLINE_NAMES_JS)
    assert same_map(page, frame)
    assert offline_page.errors == []
    screenshot(page, "map_language_basemap_kept")


def test_zoomed_in_the_summary_is_not_resent_and_comes_back_when_zoomed_out(
    app_server, offline_page
):
    sends = record_map_sends(offline_page.page)
    page = open_page(offline_page, f"{app_server.url}/")
    english(page)
    choose_summary_view(page)
    frame = leaflet_frame(page)
    frame.evaluate("() => { window.map.setView([48.5, 31.2], 6, {animate: false}); }")
    frame.wait_for_function(f"({SWITCHER_JS})().includes('Summary by area (H3)')")
    page.wait_for_timeout(1_500)  # the national view's own rerun has ended
    mark(frame)

    frame.evaluate("() => { window.map.setView([49.91, 36.21], 14, {animate: false}); }")
    frame.wait_for_function(
        f"({DETAIL_TOOLTIPS_JS})().some((t) => t.includes('HZ-1'))", timeout=30_000
    )
    # The summary was not sent with the features in view (it is not even in the layer
    # switcher); the outlines were.
    frame.wait_for_function(f"!({SWITCHER_JS})().includes('Summary by area (H3)')")
    assert "Kharkiv" in frame.evaluate(OUTLINE_NAMES_JS)
    assert same_map(page, frame)
    # The features in view come with their legend (the summary has none) and are listed
    # in the layer switcher.
    assert "Hazard areas" in frame.evaluate(LEGEND_JS)
    assert "Hazard areas" in frame.evaluate(SWITCHER_JS)

    # A pan at that zoom: other features in view, same map.
    frame.evaluate("() => { window.map.setView([49.94, 36.41], 14, {animate: false}); }")
    frame.wait_for_function(
        f"({DETAIL_TOOLTIPS_JS})().some((t) => t.includes('HZ-3'))", timeout=30_000
    )
    assert same_map(page, frame)

    # Back to national zoom: the summary comes back and is drawn, the detail gone. The
    # browser still holds that national message (config.toml: global.maxCachedMessageAge),
    # so the server sends a reference to it, not the layers again.
    before = len(sends)
    frame.evaluate("() => { window.map.setView([48.5, 31.2], 6, {animate: false}); }")
    frame.wait_for_function(f"({SWITCHER_JS})().includes('Summary by area (H3)')")
    frame.wait_for_function(f"({DETAIL_TOOLTIPS_JS})().length === 0", timeout=30_000)
    assert same_map(page, frame)
    assert sends[before:] == ["ref"], sends
    # streamlit-folium keeps every group it ever added in window.feature_group (and so in
    # memory); mapview.SwapStart forgets the replaced ones: only the groups on the map.
    assert frame.evaluate("() => window.feature_group.every((g) => window.map.hasLayer(g))")
    assert frame.evaluate("() => window.minemapSwaps") >= 4
    assert frame.evaluate(LEGEND_JS) == ""  # the detail's legend left with it
    assert offline_page.errors == []
    assert offline_page.blocked == []
