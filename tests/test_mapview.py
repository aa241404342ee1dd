"""The bounds/zoom query behind "detail in view" (minemap.mapview), on small frames built here."""

from __future__ import annotations

import json
import math

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from minemap import CRSError, mapview, webmap


def squares(cells: list[tuple[float, float, float]]) -> gpd.GeoDataFrame:
    """Squares at (lon, lat) with side ``size`` degrees, ids ``sq-0``… in order."""
    return gpd.GeoDataFrame(
        {"hazard_id": [f"sq-{i}" for i in range(len(cells))]},
        geometry=[shapely.box(x, y, x + s, y + s) for x, y, s in cells],
        crs="EPSG:4326",
    )


def test_only_features_intersecting_the_view_are_returned():
    frame = squares([(36.20, 49.90, 0.02), (36.50, 49.90, 0.02), (30.0, 50.0, 0.02)])
    found = mapview.features_in_view(frame, (36.19, 49.89, 36.25, 49.95), cap=100)
    assert found.frame["hazard_id"].tolist() == ["sq-0"]
    assert found.total == 1
    assert not found.capped
    # A view touching nothing returns an empty frame, still EPSG:4326.
    empty = mapview.features_in_view(frame, (20.0, 40.0, 21.0, 41.0), cap=100)
    assert empty.frame.empty
    assert empty.frame.crs == frame.crs


def test_cap_keeps_the_largest_polygons_and_says_it_capped():
    frame = squares([(36.0 + i * 0.01, 49.9, 0.001 * (i + 1)) for i in range(50)])
    found = mapview.features_in_view(frame, (35.9, 49.8, 36.6, 50.1), cap=10)
    assert len(found.frame) == 10
    assert found.total == 50
    assert found.capped
    # The ten largest (the last ten squares, sides 0.041–0.050°), largest first.
    assert found.frame["hazard_id"].tolist() == [f"sq-{i}" for i in range(49, 39, -1)]


def test_order_series_decides_what_survives_the_cap():
    frame = squares([(36.0 + i * 0.01, 49.9, 0.005) for i in range(5)])
    rank = pd.Series([5, 3, 1, 4, 2], index=frame.index)
    found = mapview.features_in_view(frame, (35.9, 49.8, 36.2, 50.0), cap=2, order=rank)
    assert found.frame["hazard_id"].tolist() == ["sq-2", "sq-4"]


def test_index_answers_many_views_and_keeps_frame_order_for_points():
    points = gpd.GeoDataFrame(
        {"incident_id": ["a", "b", "c"]},
        geometry=[shapely.Point(36.2, 49.9), shapely.Point(36.3, 49.9), shapely.Point(24.0, 49.8)],
        crs="EPSG:4326",
    )
    index = mapview.ViewIndex(points, name="casualties")
    assert len(index) == 3
    east = index.query((36.0, 49.0, 37.0, 50.0), cap=10)
    west = index.query((23.0, 49.0, 25.0, 50.0), cap=10)
    assert east.frame["incident_id"].tolist() == ["a", "b"]
    assert west.frame["incident_id"].tolist() == ["c"]


def test_a_frame_not_in_lon_lat_is_refused():
    frame = squares([(36.2, 49.9, 0.02)])
    with pytest.raises(CRSError, match="EPSG:4326"):
        mapview.ViewIndex(frame.to_crs("EPSG:3035"), name="hazards")
    with pytest.raises(CRSError, match="no CRS"):
        mapview.ViewIndex(frame.set_crs(None, allow_override=True), name="hazards")


def test_bounds_that_are_not_lon_lat_are_refused():
    frame = squares([(36.2, 49.9, 0.02)])
    with pytest.raises(ValueError, match="latitude"):
        mapview.features_in_view(frame, (36.0, 49.0, 37.0, 5_600_000.0), cap=10)
    with pytest.raises(ValueError, match="minimum above maximum"):
        mapview.features_in_view(frame, (37.0, 49.0, 36.0, 50.0), cap=10)


def test_simplification_follows_the_zoom_and_stays_within_tolerance():
    ring = shapely.Point(36.2, 49.9).buffer(0.05, quad_segs=64)  # ~260 vertices, ~7 km across
    frame = gpd.GeoDataFrame({"hazard_id": ["round"]}, geometry=[ring], crs="EPSG:4326")
    coarse_m = mapview.simplify_tolerance_m(9)
    fine_m = mapview.simplify_tolerance_m(15)
    assert coarse_m > fine_m > 0
    bounds = (36.0, 49.7, 36.4, 50.1)
    coarse = mapview.features_in_view(frame, bounds, cap=1, simplify_m=coarse_m).frame
    fine = mapview.features_in_view(frame, bounds, cap=1, simplify_m=fine_m).frame
    n_coarse = shapely.get_num_coordinates(coarse.geometry.iloc[0])
    n_fine = shapely.get_num_coordinates(fine.geometry.iloc[0])
    assert n_coarse < n_fine <= shapely.get_num_coordinates(ring)
    # Never further from the original than the tolerance (measured in metres, EPSG:3035).
    original = frame.to_crs("EPSG:3035").geometry.iloc[0]
    moved = coarse.to_crs("EPSG:3035").geometry.iloc[0]
    assert original.hausdorff_distance(moved) <= coarse_m * 1.01
    assert coarse.crs == frame.crs


def test_parse_leaflet_view():
    value = {
        "bounds": {
            "_southWest": {"lat": 49.8, "lng": 36.1},
            "_northEast": {"lat": 50.0, "lng": 36.5},
        },
        "zoom": 12,
    }
    view = mapview.parse_leaflet_view(value)
    assert view == mapview.View(bounds=(36.1, 49.8, 36.5, 50.0), zoom=12)
    # Zoomed far out Leaflet reports beyond the world: clipped.
    wide = {
        "bounds": {"_southWest": {"lat": -95, "lng": -400}, "_northEast": {"lat": 95, "lng": 400}},
        "zoom": 0,
    }
    assert mapview.parse_leaflet_view(wide).bounds == (-180.0, -90.0, 180.0, 90.0)
    for bad in (None, {}, {"bounds": None, "zoom": 3}, {**value, "zoom": None}, "x"):
        assert mapview.parse_leaflet_view(bad) is None


def test_snapped_bounds_cover_the_view_and_absorb_small_pans():
    view = (36.201, 49.901, 36.262, 49.941)
    snapped = mapview.snap_bounds(view, zoom=12)
    assert snapped[0] <= view[0]
    assert snapped[1] <= view[1]
    assert snapped[2] >= view[2]
    assert snapped[3] >= view[3]
    nudged = (36.2015, 49.9012, 36.2625, 49.9413)
    assert mapview.snap_bounds(nudged, zoom=12) == snapped
    padded = mapview.pad_bounds(view, fraction=0.25)
    assert padded[0] == pytest.approx(view[0] - 0.25 * (view[2] - view[0]))


def test_zoom_for_bounds_matches_web_mercator():
    to_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    world_m = 2 * math.pi * 6_378_137

    def fits(bounds, zoom, width, height):
        x0, y0 = to_3857.transform(bounds[0], bounds[1])
        x1, y1 = to_3857.transform(bounds[2], bounds[3])
        metres_per_px = world_m / (256 * 2**zoom)
        return (x1 - x0) / metres_per_px <= width and (y1 - y0) / metres_per_px <= height

    for bounds in [
        (22.0, 44.0, 40.3, 52.4),
        (36.18, 49.89, 36.24, 49.94),
        (36.2, 49.9, 36.201, 49.9),
    ]:
        zoom = mapview.zoom_for_bounds(bounds, width_px=930, height_px=620, max_zoom=18)
        assert fits(bounds, zoom, 930, 620)
        assert zoom == 18 or not fits(bounds, zoom + 1, 930, 620)


def test_detached_groups_leave_the_outlines_and_carry_the_features():
    frame = squares([(36.2, 49.9, 0.02)]).assign(hazard_type="CHA", date=pd.Timestamp("2024-01-01"))
    opts = webmap.MapOptions()
    fmap = webmap.build_map({"hazards": frame}, admin=webmap.admin_boundaries(), options=opts)
    groups = mapview.detach_groups(fmap, exclude=[webmap.escape_text(opts.t("layer.admin"))])
    assert [g.layer_name for g in groups] == [opts.t("layer.hazards")]
    left = [c for c in fmap._children.values() if isinstance(c, folium.FeatureGroup)]
    assert [g.layer_name for g in left] == [opts.t("layer.admin")]
    # Added to another map (as streamlit-folium does), the group draws the feature.
    other = folium.Map(tiles=None)
    groups[0].add_to(other)
    assert "sq-0" in other.get_root().render()
    assert "sq-0" not in fmap.get_root().render()


def test_zoom_switch_and_plugin_assets_render_offline():
    fmap = folium.Map(tiles=None)
    group = folium.FeatureGroup(name="summary").add_to(fmap)
    mapview.ZoomSwitch([group], min_zoom=10).add_to(fmap)
    assets = mapview.plugin_assets("/app/static/vendor").add_to(fmap)
    html = fmap.get_root().render()
    assert f"[{group.get_name()},]" in html
    assert "map.getZoom() >= 10" in html
    urls = [u for _, u in [*assets.default_js, *assets.default_css]]
    assert any(u.endswith("leaflet.markercluster.js") for u in urls)
    assert any(u.endswith("leaflet-heat.js") for u in urls)
    assert all(u.startswith("/app/static/vendor/") for u in urls)


def _dynamic_map(
    frame: gpd.GeoDataFrame, opts: webmap.MapOptions
) -> tuple[folium.Map, list[folium.FeatureGroup]]:
    """The page's summary map with its zoom switch (as ``viewport.prepare_dynamic``)."""
    admin_name = webmap.escape_text(opts.t("layer.admin"))
    fmap = webmap.build_map({"hazards": frame}, admin=webmap.admin_boundaries(), options=opts)
    summary = [
        c
        for c in fmap._children.values()
        if isinstance(c, folium.FeatureGroup) and c.layer_name != admin_name
    ]
    mapview.ZoomSwitch(summary, min_zoom=10).add_to(fmap)
    return fmap, summary


def test_zoomed_in_sends_leave_out_the_switched_summary_only():
    frame = squares([(36.2, 49.9, 0.02)]).assign(hazard_type="CHA", date=pd.Timestamp("2024-01-01"))
    opts = webmap.MapOptions(summary_resolution=4)
    admin_name = webmap.escape_text(opts.t("layer.admin"))
    fmap, summary = _dynamic_map(frame, opts)
    assert summary
    task = folium.FeatureGroup(name="chosen task").add_to(fmap)  # added after: not switched
    split = mapview.split_map(fmap)
    names = [g.layer_name for g in split.groups]
    assert names[0] == admin_name
    assert names[-1] == "minemap-controls"

    kept = mapview.drop_switched(split.groups)
    assert [g.layer_name for g in kept] == [admin_name, "chosen task", "minemap-controls"]
    # The holder's script no longer names the summary (it was not sent) …
    other = folium.Map(tiles=None)
    for group in kept:
        group.add_to(other)
    html = other.get_root().render()
    assert "var layers = [];" in html
    assert all(g.get_name() not in html for g in summary)
    assert task.get_name() in html
    # … while the national send still switches it.
    whole = folium.Map(tiles=None)
    national, summary = _dynamic_map(frame, opts)
    for group in mapview.split_map(national).groups:
        group.add_to(whole)
    html = whole.get_root().render()
    assert "var layers = [];" not in html
    assert all(g.get_name() in html for g in summary)


def test_the_legend_of_a_scratch_map_travels_in_its_own_holder_group():
    frame = squares([(36.2, 49.9, 0.02)]).assign(hazard_type="CHA", date=pd.Timestamp("2024-01-01"))
    opts = webmap.MapOptions()
    scratch = webmap.build_map({"hazards": frame}, options=opts)
    holder = mapview.detach_legend(scratch)
    assert holder is not None
    assert holder.control is False
    assert all(type(c).__name__ != "_Legend" for c in scratch._children.values())
    assert mapview.detach_legend(scratch) is None  # taken out once
    other = folium.Map(tiles=None)
    holder.add_to(other)
    html = other.get_root().render()
    assert "minemap-legend" in html
    assert json.dumps(opts.t("legend.hazards"))[1:-1] in html
    # A map without a legend (no layers) gives none.
    assert mapview.detach_legend(webmap.build_map({}, options=opts)) is None


def test_every_send_starts_by_forgetting_the_replaced_groups():
    base = folium.Map(tiles=None)
    from streamlit_folium import _get_feature_group_string

    sent = _get_feature_group_string(mapview.swap_start(), base, 0)
    reset = sent.index("window.feature_group = (window.feature_group || []).filter(")
    assert reset < sent.index("window.feature_group.push(")  # before its own group is kept
    assert "window.minemapSwaps = (window.minemapSwaps || 0) + 1;" in sent
    assert mapview.swap_start().control is False
    # The same text on every run (no random ids), so an unchanged map message stays
    # unchanged and the browser's cached copy can be used.
    again = _get_feature_group_string(mapview.swap_start(), folium.Map(tiles=None), 0)
    assert again.replace(base.get_name(), "") == sent.replace(base.get_name(), "")
