"""minemap.webmap: offline assets, escaping, styling, H3 summary (no browser needed)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
from folium import plugins
from shapely.geometry import Point, box

from minemap import webmap

STATIC = Path(__file__).resolve().parents[2] / "minemap_app" / "static"
XSS = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=2</script>"


def hazards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "hazard_id": ["H-1", XSS],
            "hazard_type": ["SHA", "CHA"],
            "contamination": ["AP", "CMR"],
            "status": ["active", None],
            "evidence": [SCRIPT, "craters"],
            "date": pd.to_datetime(["2024-01-10", "2024-05-01"]),
        },
        geometry=[box(36.0, 49.0, 36.1, 49.1), box(36.2, 49.0, 36.3, 49.1)],
        crs="EPSG:4326",
    )


def casualties() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "incident_id": ["C-1", "C-2", "C-3"],
            "date": pd.to_datetime(["2024-06-01", "2023-01-01", "2015-01-01"]),
            "killed": pd.array([1, 0, 2], dtype="Int64"),
            "injured": pd.array([2, 1, 0], dtype="Int64"),
            "munition_type": [SCRIPT, "PFM-1", None],
        },
        geometry=[Point(36.05, 49.05), Point(36.25, 49.05), Point(36.5, 49.5)],
        crs="EPSG:4326",
    )


def tasks() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "task_id": ["T-low", "T-high", XSS],
            "priority_score": [0.1, 0.9, 0.5],
            "priority_rank": [3, 1, 2],
            "contrib_casualties": [0.05, 0.6, 0.2],
            "contrib_farmland": [0.05, 0.3, 0.3],
            "area_m2": [5_000.0, 250_000.0, 2_500_000.0],
            "farmland_area_m2": [0.0, 120_000.0, 10.0],
            "evidence_class": ["SHA", "CHA", "CHA"],
            "expected_items_low": [0, 3, 1],
            "expected_items_high": [1, 12, 4],
        },
        geometry=[
            box(36.0, 49.0, 36.1, 49.1),
            box(36.2, 49.0, 36.3, 49.1),
            box(36.4, 49.0, 36.5, 49.1),
        ],
        crs="EPSG:4326",
    )


def full_map(**options) -> folium.Map:
    return webmap.build_map(
        {"hazards": hazards(), "casualties": casualties()},
        tasks=tasks(),
        admin=webmap.admin_boundaries(),
        options=webmap.MapOptions(reference_date=date(2024, 6, 30), **options),
    )


def test_every_asset_is_vendored_and_local():
    urls = webmap.asset_urls(full_map())
    assert urls, "the map must load Leaflet"
    assert not [u for u in urls if not u.startswith("/app/static/vendor/")]
    for url in urls:
        assert (STATIC / url.removeprefix("/app/static/")).is_file(), url
    assert any(u.endswith("leaflet.markercluster.js") for u in urls)
    assert any(u.endswith("leaflet-heat.js") for u in urls)


def test_rendered_map_references_no_remote_script_or_stylesheet():
    page = full_map().get_root().render()
    remote = re.findall(r"""<(?:script|link)[^>]+(?:src|href)=["'](https?:[^"']+)""", page)
    assert remote == []


def test_asset_base_prefix_is_honoured():
    urls = webmap.asset_urls(full_map(asset_base="/minemap/app/static/vendor"))
    assert all(u.startswith("/minemap/app/static/vendor/") for u in urls)


def test_unvendored_plugin_is_refused_not_silently_broken():
    m = folium.Map(tiles=None)
    plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="not vendored"):
        webmap.use_offline_assets(m)


def test_other_maps_keep_folium_defaults():
    full_map()
    assert folium.Map.default_js[0][1].startswith("https://")


def test_user_text_never_reaches_the_page_unescaped():
    page = full_map().get_root().render()
    for raw in (XSS, SCRIPT, "<script>window", "onerror=window.__xss=1>"):
        assert raw not in page
    # The text is there as JSON data with <, > and & escaped (\\u003c…), so users still see
    # it: the browser puts it into popups and tooltips with textContent, never as HTML.
    assert "\\u003cimg src=x onerror=window.__xss=1\\u003e" in page
    assert "\\u003cscript\\u003ewindow.__xss=2\\u003c/script\\u003e" in page


def test_popup_table_escapes_labels_and_values():
    html = webmap.popup_table([("<b>label</b>", XSS), ("empty", "")])
    assert "<img" not in html
    assert "<b>" not in html
    assert "&lt;img src=x onerror=window.__xss=1&gt;" in html
    assert "empty" not in html


def test_only_needed_properties_are_sent():
    page = full_map().get_root().render()
    assert "craters" not in page  # hazard 'evidence' is not shown, so not sent


def test_recency_colour_classes():
    dates = pd.Series(pd.to_datetime(["2024-06-01", "2023-12-01", "2022-01-01", "2010-01-01"]))
    colours = webmap.recency_colour(dates, reference_date=date(2024, 6, 30))
    expected = [c for _, c in webmap.RECENCY_CLASSES_DAYS]
    assert colours.tolist() == expected
    assert colours.name == "recency_colour"


def test_priority_breaks_and_highest_score_gets_darkest_class():
    breaks = webmap.priority_class_breaks(pd.Series([0.1, 0.9, 0.5]))
    assert breaks[0] == pytest.approx(0.1)
    assert breaks[-1] == pytest.approx(0.9)
    page = full_map().get_root().render()
    # The darkest class colour is used (for T-high) and the palest (for T-low).
    assert webmap.PRIORITY_CLASSES[-1] in page
    assert webmap.PRIORITY_CLASSES[0] in page


def test_h3_summary_conserves_counts_and_weights():
    frame = casualties()
    weight = frame["killed"].astype(float) + frame["injured"].astype(float)
    summary = webmap.h3_summary(frame, resolution=5, weight=weight)
    assert summary["count"].sum() == len(frame)
    assert summary["weight_sum"].sum() == pytest.approx(weight.sum())
    assert summary.crs == "EPSG:4326"
    assert summary.geometry.contains(frame.geometry.iloc[[0]].union_all()).any()


def test_summary_view_sends_cells_not_points():
    m = webmap.build_map(
        {"casualties": casualties()}, options=webmap.MapOptions(summary_resolution=4)
    )
    page = m.get_root().render()
    assert "C-1" not in page
    assert "markerClusterGroup" not in page


def test_admin_boundaries_are_bundled():
    admin = webmap.admin_boundaries()
    assert len(admin) == 26
    assert {"name_uk", "name_en"} <= set(admin.columns)
    assert admin.crs == "EPSG:4326"
    assert "Kyiv Oblast" in set(admin["name_en"])


def test_numbers_and_areas_are_localised():
    assert webmap.format_number(1234.5, decimals=1) == "1,234.5"
    assert webmap.format_number(1234.5, decimals=1, decimal_comma=True) == "1\u202f234,5"
    page = full_map(text={"unit.km2": "км²"}, decimal_comma=True).get_root().render()
    wanted = "2,50 км²"  # the third task: 2,500,000 m²
    assert wanted in page or json.dumps(wanted)[1:-1] in page


def test_layer_over_the_cap_is_summarised_not_sent():
    many = gpd.GeoDataFrame(
        {"parcel_id": [f"P-{i}" for i in range(50)], "land_use": ["arable"] * 50},
        geometry=[box(30 + i * 0.01, 50, 30.005 + i * 0.01, 50.005) for i in range(50)],
        crs="EPSG:4326",
    )
    capped = webmap.build_map(
        {"farmland": many}, options=webmap.MapOptions(max_features_per_layer=10)
    )
    page = capped.get_root().render()
    assert "P-1" not in page
    uncapped = webmap.build_map({"farmland": many}).get_root().render()
    assert "P-49" in uncapped


def test_casualties_as_counts_only_when_exact_points_are_not_allowed():
    page = (
        webmap.build_map(
            {"casualties": casualties()}, options=webmap.MapOptions(exact_casualties=False)
        )
        .get_root()
        .render()
    )
    assert "C-1" not in page
    # No exact coordinate of any casualty (36.05/49.05, 36.25/49.05, 36.5/49.5), not even
    # in the initial view's bounds.
    for value in ("36.05", "36.25", "49.05", "36.5", "49.5"):
        assert not re.search(re.escape(value) + r"(?!\d)", page), value
    assert "markerClusterGroup" not in page


def test_a_snapshot_is_drawn_once_and_never_served_stale():
    frame = hazards()
    frame.attrs[webmap.SNAPSHOT_ATTR] = ("test store", 1, "planner", "hazards")
    first = webmap.build_map({"hazards": frame}).get_root().render()
    again = webmap.build_map({"hazards": frame}).get_root().render()
    assert "H-1" in first
    # The reused layer is the same drawing (element ids differ between maps).
    assert re.sub(r"_[0-9a-f]{32}", "", first) == re.sub(r"_[0-9a-f]{32}", "", again)
    # Rows dropped after the snapshot was taken (the attrs travel with the subset) are
    # noticed: the map shows the subset, not the reused drawing.
    subset = frame.iloc[[1]]
    assert subset.attrs == frame.attrs
    page = webmap.build_map({"hazards": subset}).get_root().render()
    assert '"H-1"' not in page
    assert "\\u003cimg src=x" in page


def test_a_changed_value_in_a_snapshot_is_drawn_anew():
    frame = hazards()
    frame.attrs[webmap.SNAPSHOT_ATTR] = ("test store", 2, "planner", "hazards")
    assert "H-1" in webmap.build_map({"hazards": frame}).get_root().render()
    renamed = frame.assign(hazard_id=["H-renamed", "H-2"])  # same rows, attrs carried over
    assert renamed.attrs == frame.attrs
    page = webmap.build_map({"hazards": renamed}).get_root().render()
    assert "H-renamed" in page
    assert '"H-1"' not in page


def test_settlements_are_drawn_with_name_and_population_escaped():
    settlements = gpd.GeoDataFrame(
        {
            "settlement_id": ["S-1", "S-2"],
            "name": ["Kamianka", XSS],
            "population": pd.array([1234, None], dtype="Int64"),
            "settlement_type": ["village", "hamlet"],
            "source": ["census-secret-note", None],
        },
        geometry=[Point(36.05, 49.05), box(36.2, 49.0, 36.21, 49.01)],
        crs="EPSG:4326",
    )
    page = webmap.build_map({"settlements": settlements}).get_root().render()
    assert "Settlements" in page  # the layer, in the layer switcher
    assert "Kamianka" in page
    assert "1,234" in page
    assert XSS not in page
    assert "\\u003cimg src=x onerror=window.__xss=1\\u003e" in page
    assert "census-secret-note" not in page  # only the shown columns are sent
    legend = page[page.index("minemap-legend") :]
    assert webmap.COLOURS["settlement"] in legend
